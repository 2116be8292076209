// as-pect runs the pure AssemblyScript helpers (JSON, globs, templates, filter policies)
// without a proxy-wasm host. Code under test must not call the host; if it ever does, the
// stubbed `env` functions below fail the test loudly instead of passing silently.
export default {
  entries: ["assembly/__tests__/**/*.spec.ts", "filters/*/__tests__/**/*.spec.ts"],
  include: ["assembly/__tests__/**/*.include.ts"],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    const hostCall = (name) => () => {
      throw new Error(`pure AssemblyScript test called host function ${name}`);
    };
    const env = new Proxy({ memory }, {
      get: (target, prop) => (prop in target ? target[prop] : hostCall(String(prop))),
      has: () => true,
    });
    return instantiate(binary, createImports({ env }));
  },
  outputBinary: false,
};

// Where `portico run` finds func-e and Envoy: environment, then install-tools.sh's env file, then PATH.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { locateEnvoyTools, parseEnvFile, toolsDir } from "../../../src/envoy/tools.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "portico-tools-unit-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function executable(name: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, "#!/bin/sh\n");
  chmodSync(path, 0o755);
  return path;
}

describe("locateEnvoyTools", () => {
  it("prefers FUNC_E and ENVOY_PATH from the environment", () => {
    const funcE = executable("from-env/func-e");
    const envoy = executable("from-env/envoy");
    writeFileSync(join(dir, "env"), `FUNC_E=${executable("tools/func-e")}\n`);
    expect(locateEnvoyTools({ env: { FUNC_E: funcE, ENVOY_PATH: envoy }, toolsDir: dir })).toEqual({ funcE, envoyPath: envoy });
  });

  it("falls back to the env file install-tools.sh writes, quoted values included", () => {
    const funcE = executable("tools dir/func-e");
    const envoy = executable("tools dir/envoy");
    writeFileSync(join(dir, "env"), `# written by install-tools.sh\nFUNC_E='${funcE}'\nENVOY_PATH=${envoy}\n`);
    expect(locateEnvoyTools({ env: {}, toolsDir: dir })).toEqual({ funcE, envoyPath: envoy });
  });

  it("finds func-e on PATH and leaves the Envoy version to func-e when none is named", () => {
    const funcE = executable("bin/func-e");
    expect(locateEnvoyTools({ env: { PATH: `/nonexistent:${join(dir, "bin")}` }, toolsDir: join(dir, "none") })).toEqual({
      funcE,
      envoyPath: undefined,
    });
  });

  it("says how to get func-e when there is none, and refuses a path that is not executable", () => {
    expect(() => locateEnvoyTools({ env: { PATH: "/nonexistent" }, toolsDir: dir })).toThrow(/func-e not found.*install func-e/);
    writeFileSync(join(dir, "plain"), "");
    expect(() => locateEnvoyTools({ env: { FUNC_E: join(dir, "plain") }, toolsDir: dir })).toThrow(
      /func-e at .*plain is not an executable file/,
    );
    expect(() => locateEnvoyTools({ env: { FUNC_E: executable("f"), ENVOY_PATH: join(dir, "plain") }, toolsDir: dir })).toThrow(
      /Envoy \(ENVOY_PATH\) at .*plain is not an executable file/,
    );
  });
});

describe("parseEnvFile", () => {
  it("reads KEY=VALUE lines, unquoting shell single quotes and skipping comments", () => {
    expect(parseEnvFile("# c\nA=1\n\nB='x y'\nC='it'\\''s'\nbad line\n=x\n")).toEqual({ A: "1", B: "x y", C: "it's" });
  });
});

describe("toolsDir", () => {
  it("is $PORTICO_TOOLS_DIR when set, else the repository's .tools (as install-tools.sh decides)", () => {
    expect(toolsDir({ PORTICO_TOOLS_DIR: dir })).toBe(dir);
    expect(toolsDir({})).toBe(join(fileURLToPath(new URL("../../../..", import.meta.url)), ".tools"));
  });
});

import { parseTemplate, Template, TemplateSource, TemplateVar, VarKind } from "../template";

class FakeSource implements TemplateSource {
  resolve(v: TemplateVar): string | null {
    if (v.kind == VarKind.RequestHeader) return v.arg == "x-user" ? "alice" : null;
    if (v.kind == VarKind.RequestMethod) return "GET";
    if (v.kind == VarKind.Property) return v.arg == "wasm.tenant" ? "acme" : null;
    return null;
  }
}

function render(text: string): string {
  const p = parseTemplate(text);
  expect(p.error).toBe("");
  return (p.template as Template).render(new FakeSource());
}

describe("templates", () => {
  it("renders literals and variables", () => {
    expect(render("plain")).toBe("plain");
    expect(render("${request.header.X-User}")).toBe("alice");
    expect(render("u=${request.header.x-user};m=${request.method}")).toBe("u=alice;m=GET");
    expect(render("${property.wasm.tenant}/${request.method}")).toBe("acme/GET");
  });

  it("renders a missing variable as empty", () => {
    expect(render("[${request.header.absent}]")).toBe("[]");
    expect(render("${request.header.absent}")).toBe("");
  });

  it("escapes $ as $$", () => {
    expect(render("cost $$5")).toBe("cost $5");
    expect(render("$${request.method}")).toBe("${request.method}");
  });

  it("knows which templates are literal", () => {
    expect((parseTemplate("abc").template as Template).isLiteral).toBe(true);
    expect((parseTemplate("").template as Template).isLiteral).toBe(true);
    expect((parseTemplate("a${request.method}").template as Template).isLiteral).toBe(false);
  });

  it("encodes property paths for the host once", () => {
    const t = parseTemplate("${property.wasm.tenant}").template as Template;
    const v = t.variables()[0];
    expect(v.property!.dotted).toBe("wasm.tenant");
    expect(v.property!.encoded.byteLength).toBe(11);
    expect(Uint8Array.wrap(v.property!.encoded)[4]).toBe(0);
  });

  it("rejects malformed templates with a reason", () => {
    expect(parseTemplate("${nope}").error.includes("unknown variable ${nope}")).toBe(true);
    expect(parseTemplate("${request.method").error.includes("unclosed")).toBe(true);
    expect(parseTemplate("a $ b").error.includes("must start ${variable}")).toBe(true);
    expect(parseTemplate("${request.header.}").error.includes("unknown variable")).toBe(true);
  });
});

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { writeRateLimitConfigDir } from "../../../src/rate-limit-service/config-dir.js";

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("writeRateLimitConfigDir (portico ratelimit-config --out)", () => {
  it("writes one file per domain, removes the files of domains gone, and leaves the user's own files alone", async () => {
    dir = mkdtempSync(join(tmpdir(), "portico-rl-dir-"));
    writeFileSync(join(dir, "portico.old.yaml"), "domain: portico.old\n");
    writeFileSync(join(dir, "theirs.yaml"), "domain: theirs\n");
    const written = await writeRateLimitConfigDir(dir, [
      {
        domain: "portico.a",
        descriptors: [
          {
            key: "rule",
            value: "r",
            descriptors: [{ key: "fixed", value: "global", rate_limit: { unit: "minute", requests_per_unit: 3 } }],
          },
        ],
      },
    ]);
    expect(written).toEqual(["portico.a.yaml"]);
    expect(readdirSync(dir).sort()).toEqual(["portico.a.yaml", "theirs.yaml"]); // no temporary file left either
    expect(parseYaml(readFileSync(join(dir, "portico.a.yaml"), "utf8"))).toMatchObject({ domain: "portico.a" });
  });
});

// One duration grammar, two implementations: the control plane's parseDuration
// (control-plane/src/config/durations.ts, for routes, clusters and the gateway's own settings)
// and the filters' reader (assembly/config/reader.ts, parseDurationMs and ObjectReader.duration).
// The same list of values goes through both, here through rate-limit's `period` in the built
// filter: the plugin checker (the gateway's own check of a plugin config) for the verdict, and the
// emulated clock for the milliseconds the filter took (one request per period: refused 1 ms
// before the period is over, admitted at it).
//
// The one intended difference is bounds: parseDuration has none (each field adds its own), while
// `period` must be 1s to 24h; a value the grammar accepts outside them is refused by the filter
// with its bound message, never as an invalid duration.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LogLevel, ProxyWasmVm, runHttpRequest, type Plugin } from "../../../../emulator/index.js";
import { builtFilter } from "../../../../test/support/wasm-fixtures.js";
import { parseDuration } from "../../../src/config/durations.js";
import { createPluginChecker } from "../../../src/plugins/check-config.js";

/** Each value with the milliseconds the grammar gives it, or null when it is not a duration. */
const CASES: [string | number, number | null][] = [
  ["250ms", 250],
  ["999ms", 999],
  ["1000ms", 1000],
  ["1000.000ms", 1000],
  ["1s", 1000],
  ["15s", 15_000],
  ["1m30s", 90_000],
  ["1h30m", 5_400_000],
  ["0.5m", 30_000],
  ["1.5s", 1500],
  ["1.1s", 1100],
  ["1.25s", 1250],
  ["0.1s", 100],
  ["0s", 0],
  ["1h1h", 7_200_000],
  ["1ms1ms", 2],
  ["1s500ms", 1500],
  ["24h", 86_400_000],
  ["24h1ms", 86_400_001],
  ["1440m", 86_400_000],
  [" 30s ", 30_000],
  ["\t10s\n", 10_000],
  ["0.0005s", null], // half a millisecond
  ["1.0005s", null],
  ["3.3333s", null],
  ["", null],
  ["   ", null],
  ["5", null],
  ["5d", null],
  ["1 s", null],
  ["1m 30s", null],
  ["1S", null],
  ["1e3ms", null],
  ["1.s", null],
  [".5s", null],
  ["-1s", null],
  ["+1s", null],
  ["s", null],
  ["ms", null],
  ["1hms", null],
  ["٣s", null], // an Arabic-Indic digit: the grammar's digits are ASCII
  [5, 5000],
  [1.5, 1500],
  [0.001, 1],
  [0, 0],
  [86_400, 86_400_000],
  [86_400.001, 86_400_001],
  [0.0005, null],
  [-1, null],
];

const MIN_MS = 1000;
const MAX_MS = 86_400_000;

let bytes: Uint8Array;
let sha256: string;
let module: WebAssembly.Module;
const check = createPluginChecker();

beforeAll(async () => {
  bytes = readFileSync(builtFilter("rate-limit"));
  sha256 = createHash("sha256").update(bytes).digest("hex");
  module = await WebAssembly.compile(readFileSync(builtFilter("rate-limit")));
}, 180_000);
afterAll(() => check.close());

const config = (period: string | number) => ({ rules: [{ name: "r", requests: 1, burst: 1, period }], max_keys: 1 });

async function filterErrors(period: string | number): Promise<string[]> {
  return (await check({ bytes, sha256, rootId: "rate-limit", name: "p", config: JSON.stringify(config(period)) })).errors;
}

function send(p: Plugin): number {
  const s = runHttpRequest(p, {
    requestHeaders: [
      [":method", "GET"],
      [":path", "/"],
      [":authority", "a.test"],
    ],
    properties: { "source.address": "203.0.113.7:5000" },
    responseHeaders: [[":status", "200"]],
  });
  return Number(s.responseHeader(":status"));
}

/** The period the filter took, observed on the emulated clock. */
async function filterPeriodMs(period: string | number, expectedMs: number): Promise<number> {
  const vm = await ProxyWasmVm.load(module, { startTime: Date.UTC(2030, 0, 1), vmId: "rate_limit" });
  const p = vm.configurePlugin({ config: JSON.stringify(config(period)), rootId: "rate-limit", name: "rate_limit" });
  const errors = vm.logs.filter((l) => l.level >= LogLevel.Error).map((l) => l.message);
  expect(p.ok, errors.join("\n")).toBe(true);
  expect([send(p), send(p)]).toEqual([200, 429]);
  vm.advanceTime(expectedMs - 1);
  if (send(p) !== 429) return -1; // admitted early: the filter's period is shorter
  vm.advanceTime(1);
  return send(p) === 200 ? expectedMs : -1;
}

describe("the duration grammar: control plane and filters agree", () => {
  for (const [value, ms] of CASES) {
    it(`${JSON.stringify(value)}: ${ms === null ? "not a duration" : `${ms} ms`}`, async () => {
      const cp = parseDuration(value);
      expect(cp, "control plane").toEqual(ms === null ? expect.objectContaining({ ok: false }) : { ok: true, ms });

      const errors = await filterErrors(value);
      if (ms === null) {
        expect(errors.length, "filter refuses it").toBeGreaterThan(0);
        expect(errors.join("\n")).not.toMatch(/must be between/);
      } else if (ms < MIN_MS || ms > MAX_MS) {
        expect(errors, "filter: out of period's bounds only").toEqual([expect.stringMatching(/period.*must be between 1s and 24h/)]);
      } else {
        expect(errors, "filter accepts it").toEqual([]);
        expect(await filterPeriodMs(value, ms), "filter's milliseconds").toBe(ms);
      }
    });
  }
});

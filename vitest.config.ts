import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts", "filters/**/*.test.ts", "control-plane/test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts", "control-plane/test/e2e/**/*.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
          // Each file starts real Envoys; on a 2-core machine, files running in
          // parallel would only make timings (and timeouts) noisy.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});

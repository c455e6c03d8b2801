import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["filter-wasm/test/**/*.test.ts", "server/test/**/*.test.ts", "models/test/**/*.test.ts", "test/unit/**/*.test.ts"],
          globalSetup: ["test/harness/build-filter.setup.ts"],
          // Fuzz tests run tens of thousands of cases; a loaded 2-core machine must not fail them on time.
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/harness/build-filter.setup.ts", "test/harness/stack.setup.ts"],
          // One real stack is shared by every e2e file; running them one at a time keeps
          // Envoy's counters attributable to a single test and the 2-core machine unloaded.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});

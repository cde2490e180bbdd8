import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "services/**/*.test.ts",
      "tests/**/*.test.ts",
      "operator/src/**/*.test.ts",
      "charts/tests/**/*.test.ts",
      "dashboards/src/**/*.test.ts",
    ],
    globalSetup: ["tests/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Files run in parallel, each on a database of its own.
    fileParallelism: true,
  },
});

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Starts MongoDB (stand-in), Kafka, Redis and PostgreSQL once per run; see docs/testing.md.
    globalSetup: ["test/support/global-setup.ts"],
    setupFiles: ["test/support/fast-check.ts"],
  },
});

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    // Most suite time is spent waiting on servers and child processes, not CPU: two files at a time on
    // two cores roughly halves the wall time (vitest's default is one worker per core minus one).
    maxWorkers: 2,
    hookTimeout: 120_000,
    // Starts MongoDB (stand-in), Kafka, Redis and PostgreSQL once per run; see docs/testing.md.
    globalSetup: ["test/support/global-setup.ts"],
    setupFiles: ["test/support/fast-check.ts"],
  },
});

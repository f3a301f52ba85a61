// `sp process` stop conditions and checkpoints (subprocess): --checkpoint-dir resumes where the last run
// stopped, --limit and --timeout stop an infinite source gracefully, bad values are usage errors.
import { appendFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dir, file, lines, sp } from "./sp.ts";

const sampleConnections = () =>
  file("sample-connections.json", {
    connections: [{ name: "sample_stream_solar", type: "Sample", config: { rate: 50, seed: 3 } }],
  });
const sampleDefinition = () =>
  file("sample.json", {
    name: "solar",
    pipeline: [{ $source: { connectionName: "sample_stream_solar" } }, { $project: { device_id: 1 } }],
  });

describe("sp process: checkpoints and stop conditions", () => {
  it("resumes from --checkpoint-dir: a second run reads only what the first did not", () => {
    const input = file("growing.jsonl", '{"n": 1}\n{"n": 2}\n{"n": 3}\n');
    const connections = file("growing-connections.json", {
      connections: [{ name: "events", type: "File", config: { path: input } }],
    });
    const definition = file("growing.json", {
      name: "growing",
      pipeline: [{ $source: { connectionName: "events" } }, { $project: { _id: 0, n: 1 } }],
    });
    const checkpoints = join(dir, "growing-checkpoints");
    const args = [
      "process",
      definition,
      "--connections",
      connections,
      "--checkpoint-dir",
      checkpoints,
      "--stats",
    ];

    const first = sp(args);
    expect(first.code).toBe(0);
    expect(lines(first.stdout).map((d) => d.n)).toEqual([1, 2, 3]);
    expect(existsSync(join(checkpoints, "checkpoints", "growing.json"))).toBe(true);
    const firstStats = lines(first.stderr.trim().split("\n").at(-1) as string)[0];
    expect(firstStats.lastCheckpoint).toMatchObject({ id: 1 });

    appendFileSync(input, '{"n": 4}\n{"n": 5}\n');
    const second = sp(args);
    expect(second.code).toBe(0);
    expect(lines(second.stdout).map((d) => d.n)).toEqual([4, 5]);
    const stats = lines(second.stderr.trim().split("\n").at(-1) as string)[0];
    // Counters continue from the checkpoint.
    expect(stats).toMatchObject({ inputMessageCount: 5, outputMessageCount: 5 });
    expect(stats.lastCheckpoint).toMatchObject({ id: 2 });
  });

  it("--limit stops an infinite source once that many documents were written", () => {
    const run = sp([
      "process",
      sampleDefinition(),
      "--connections",
      sampleConnections(),
      "--limit",
      "5",
      "--stats",
    ]);
    expect(run.code).toBe(0);
    const out = lines(run.stdout);
    expect(out.length).toBeGreaterThanOrEqual(5);
    const stats = lines(run.stderr.trim().split("\n").at(-1) as string)[0];
    expect(stats.outputMessageCount).toBe(out.length);
    expect(stats.status).toBe("stopped");
  });

  it("--timeout stops an infinite source gracefully", () => {
    const run = sp([
      "process",
      sampleDefinition(),
      "--connections",
      sampleConnections(),
      "--timeout",
      "1",
      "--stats",
    ]);
    expect(run.code).toBe(0);
    const stats = lines(run.stderr.trim().split("\n").at(-1) as string)[0];
    expect(stats.status).toBe("stopped");
    expect(stats.outputMessageCount).toBe(lines(run.stdout).length);
  });

  it("rejects a non-positive --limit, --timeout or --checkpoint-interval as a usage error", () => {
    for (const [flag, value] of [
      ["--limit", "0"],
      ["--timeout", "soon"],
      ["--checkpoint-interval", "-5"],
    ]) {
      const run = sp(["process", sampleDefinition(), "--connections", sampleConnections(), flag, value]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`${flag} must be a positive number, got '${value}'`);
    }
  });
});

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { captureIo } from "../../support/io.ts";
import { lintCommand } from "../../../src/cli/commands/lint.ts";

const dir = mkdtempSync(join(tmpdir(), "sp-lint-"));
function file(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value));
  return path;
}

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { io, out, err } = captureIo();
  const code = await lintCommand(args, io);
  return { code, stdout: out(), stderr: err() };
}

const connections = file("connections.json", {
  connections: [{ name: "atlas", type: "Cluster", config: {} }],
});
const valid = file("valid.json", {
  name: "ok",
  pipeline: [
    { $source: { connectionName: "sample_stream_solar" } },
    { $merge: { into: { connectionName: "atlas", db: "d", coll: "c" } } },
  ],
});
const sinkless = file("sinkless.json", [
  { $source: { connectionName: "sample_stream_solar" } },
  { $match: { a: 1 } },
]);
const broken = file("broken.json", [
  { $source: { connectionName: "nope" } },
  { $group: { _id: null } },
  { $tumblingWindow: { interval: { size: 0, unit: "second" }, pipeline: [] } },
]);

describe("sp lint", () => {
  it("exits 0 and says ok for a valid definition", async () => {
    expect(await run([valid, "--connections", connections])).toEqual({
      code: 0,
      stdout: `${valid}: ok\n`,
      stderr: "",
    });
  });

  it("prints every error with its path and exits 1", async () => {
    const result = await run([broken, "--connections", connections]);
    expect(result.code).toBe(1);
    const lines = result.stdout.trim().split("\n");
    expect(lines[0]).toBe(`${broken}: 4 errors`);
    expect(lines[1]).toMatch(
      /^ {2}pipeline\[0\]\.\$source\.connectionName: Unknown connection name nope; known connections: __testLog, atlas, sample_stream_solar\./,
    );
    expect(lines.slice(2)).toEqual([
      "  pipeline[1]: $group stage is only permitted in the inner pipeline of a window stage",
      "  pipeline[2].$tumblingWindow.interval.size: Window interval size must be greater than 0.",
      expect.stringMatching(
        /^ {2}pipeline: The last stage in the pipeline must be \$merge or \$emit\..*sp process/,
      ),
    ]);
  });

  it("needs a sink unless --ephemeral", async () => {
    expect((await run([sinkless])).code).toBe(1);
    expect(await run([sinkless, "--ephemeral"])).toMatchObject({ code: 0, stdout: `${sinkless}: ok\n` });
  });

  it("lints several files and fails if any is invalid", async () => {
    const result = await run([valid, broken, "--connections", connections]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`${valid}: ok`);
  });

  it("lints with an unset {{VAR}} as an opaque value and a warning", async () => {
    const withPlaceholder = file("placeholder-connections.json", {
      connections: [{ name: "atlas", type: "Cluster", config: { uri: "{{EDDY_LINT_UNSET_URI}}" } }],
    });
    expect(await run([valid, "--connections", withPlaceholder])).toEqual({
      code: 0,
      stdout: `${valid}: ok\n`,
      stderr: `sp lint: warning: ${withPlaceholder} uses {{EDDY_LINT_UNSET_URI}}, which is not set; linted as an opaque value\n`,
    });
  });

  it("checks a Sample connection's dataset as starting the processor does", async () => {
    const samples = file("sample-connections.json", {
      connections: [
        { name: "solar", type: "Sample", config: { rate: 5 } },
        { name: "fine", type: "Sample", config: { dataset: "sample_stream_solar" } },
      ],
    });
    const uses = (name: string) =>
      file(`uses-${name}.json`, [{ $source: { connectionName: name } }, { $match: { a: 1 } }]);
    const unknown = await run([uses("solar"), "--connections", samples, "--ephemeral"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toContain(
      "pipeline[0].$source.connectionName: Sample connection 'solar' generates the dataset 'solar'",
    );
    expect((await run([uses("fine"), "--connections", samples, "--ephemeral"])).code).toBe(0);
  });

  it("reports a file error without the usage text", async () => {
    const missing = await run([join(dir, "missing.json")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).not.toContain("usage:");
    const badJson = await run([valid, "--connections", file("bad-json.json", "{not json")]);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).not.toContain("usage:");
    expect((await run([])).stderr).toContain("usage: sp lint");
  });

  it("exits 2 on usage errors", async () => {
    expect((await run([])).code).toBe(2);
    expect((await run([valid, "--bogus"])).code).toBe(2);
    expect((await run([join(dir, "missing.json")])).code).toBe(2);
    expect((await run([file("bad.json", "{not json")])).code).toBe(2);
    const badConnections = await run([
      valid,
      "--connections",
      file("bad-conn.json", { connections: [{ name: "x", type: "Nope" }] }),
    ]);
    expect(badConnections.code).toBe(2);
    expect(badConnections.stderr).toContain("connections[0].type: Unsupported connection type 'Nope'");
  });
});

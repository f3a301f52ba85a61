import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { captureIo } from "../../support/io.ts";
import { atlasFindings, lintCommand } from "../../../src/cli/commands/lint.ts";
import { EDDY_EXTENSIONS } from "../../../src/connectors/extensions.ts";
import { catalogOf } from "../../../src/pipeline/index.ts";
import { aspDifferencesDocument } from "../../../scripts/asp-differences-document.ts";

const dir = mkdtempSync(join(tmpdir(), "sp-lint-atlas-"));
function file(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

async function lint(args: string[]): Promise<{ code: number; stdout: string }> {
  const { io, out } = captureIo();
  const code = await lintCommand(args, io);
  return { code, stdout: out() };
}

const connections = [
  { name: "kafka", type: "Kafka", config: { bootstrapServers: "127.0.0.1:9092" } },
  { name: "pg", type: "PostgreSQL", config: { connectionString: "postgres://x/y" } },
  { name: "otel", type: "OTLP", config: {} },
  { name: "atlas", type: "Cluster", config: { uri: "mongodb://x" } },
  { name: "retrying", type: "Cluster", config: { uri: "mongodb://x", maxRetries: 5 } },
  { name: "cron", type: "Scheduled", config: { uri: "mongodb://x" } },
];
const connectionsFile = file("connections.json", { connections });
const extended = {
  name: "extended",
  pipeline: [
    { $source: { connectionName: "kafka", topic: "in" } },
    { $addFields: { seenAt: "$$NOW", attempts: 1, nested: { at: { $add: ["$$NOW", 1] } } } },
    { $emit: { connectionName: "kafka", topic: "out", config: { exactlyOnce: true } } },
  ],
  options: { dlq: { connectionName: "kafka", topic: "dead" } },
};

describe("sp lint --atlas", () => {
  it("accepts Eddy extensions without --atlas", async () => {
    const { code, stdout } = await lint([file("extended.json", extended), "--connections", connectionsFile]);
    expect(stdout).toBe(`${join(dir, "extended.json")}: ok\n`);
    expect(code).toBe(0);
  });

  it("reports each extension with its JSON path and exits 1", async () => {
    const { code, stdout } = await lint([
      join(dir, "extended.json"),
      "--connections",
      connectionsFile,
      "--atlas",
    ]);
    expect(code).toBe(1);
    const paths = stdout
      .split("\n")
      .filter((line) => line.startsWith("  "))
      .map((line) => line.trim().split(": ")[0]);
    expect(paths).toEqual([
      "pipeline[1].$addFields.seenAt",
      "pipeline[1].$addFields.nested.at.$add[0]",
      "pipeline[2].$emit.config.exactlyOnce",
      "options.dlq.topic",
    ]); // a user's own `attempts` field is document data, not an option
    expect(stdout).toMatch(/Atlas refuses the unknown `config` field/);
  });

  it("finds Scheduled connections and connections with document retries", () => {
    const findings = atlasFindings(
      {
        name: "y",
        pipeline: [
          { $source: { connectionName: "cron", schedule: "*/5 * * * *", db: "d", coll: "c" } },
          { $merge: { into: { connectionName: "retrying", db: "d", coll: "out" } } },
        ],
      },
      catalogOf(connections),
    );
    expect(findings.map((f) => [f.path, f.message.split(" is an Eddy extension")[0]])).toEqual([
      [
        "pipeline[0].$source.connectionName",
        "a `Scheduled` connection (`$source` running a MongoDB query on a cron schedule)",
      ],
      [
        "pipeline[1].$merge.into.connectionName",
        "`maxRetries` / `retryDelayMs` on a Cluster or Kafka connection",
      ],
    ]);
  });

  it("finds PostgreSQL and OTLP connections wherever the pipeline names them, and options.parallelism", () => {
    const findings = atlasFindings(
      {
        name: "x",
        options: { parallelism: 2 },
        pipeline: [{ $source: { connectionName: "otel" } }, { $emit: { connectionName: "pg", table: "t" } }],
      },
      catalogOf(connections),
    );
    expect(findings.map((f) => f.path)).toEqual([
      "pipeline[1].$emit.connectionName",
      "pipeline[0].$source.connectionName",
      "options.parallelism",
    ]);
  });

  it("passes a plain ASP processor", async () => {
    const plain = file("plain.json", {
      name: "plain",
      pipeline: [
        { $source: { connectionName: "kafka", topic: "in" } },
        { $merge: { into: { connectionName: "atlas", db: "d", coll: "c" } } },
      ],
    });
    expect(await lint([plain, "--connections", connectionsFile, "--atlas"])).toEqual({
      code: 0,
      stdout: `${plain}: ok (portable to Atlas)\n`,
    });
  });
});

describe("docs/asp-differences.md", () => {
  const path = fileURLToPath(new URL("../../../docs/asp-differences.md", import.meta.url));

  it("is the one the extension list generates (run `npm run docs:asp-differences` when this fails)", async () => {
    expect(readFileSync(path, "utf8")).toBe(await aspDifferencesDocument(path));
  });

  it("has a row for every extension", () => {
    const text = readFileSync(path, "utf8");
    for (const extension of EDDY_EXTENSIONS) expect(text).toContain(extension.construct);
  });
});

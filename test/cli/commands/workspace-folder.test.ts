import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EXIT } from "../../../src/cli/errors.ts";
import {
  filesUsingVariable,
  readConnectionFiles,
  readProcessorFiles,
  WorkspaceFolderError,
} from "../../../src/cli/workspace-folder.ts";
import { initWorkspaceFolder } from "../../../src/cli/workspace-init.ts";

const created: string[] = [];
afterAll(() => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

function folder(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), "sp-folder-"));
  created.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), typeof content === "string" ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

async function problemsOf(read: Promise<unknown>): Promise<string[]> {
  const error = await read.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkspaceFolderError);
  expect((error as WorkspaceFolderError).exitCode).toBe(EXIT.usage);
  return (error as WorkspaceFolderError).problems.map(
    (p) => `${p.file.replace(/^.*sp-folder-[^/]+\//, "")}: ${p.path}: ${p.message}`,
  );
}

const kafka = { name: "kafka", type: "Kafka", config: { bootstrapServers: "{{KAFKA_BROKERS}}" } };
const pipeline = [
  { $source: { connectionName: "kafka", topic: "t" } },
  { $merge: { into: { connectionName: "m", db: "d", coll: "c" } } },
];

describe("readConnectionFiles", () => {
  it("reads every entry of every file in name order, placeholders verbatim", async () => {
    const dir = folder({
      "connections/b.json": {
        connections: [{ name: "mongo", type: "Cluster", config: { uri: "{{MONGODB_URI}}" } }],
      },
      "connections/a.json": { connections: [kafka] },
      "connections/notes.txt": "ignored",
    });
    const connections = await readConnectionFiles(dir);
    expect(connections.map((c) => c.name)).toEqual(["kafka", "mongo"]);
    expect(connections[0].body).toEqual(kafka);
    expect(connections[0].file).toMatch(/connections\/a\.json$/);
  });

  it("reports every problem with file and JSON path", async () => {
    const dir = folder({
      "connections/a.json": { connections: [kafka] },
      "connections/b.json": { connections: [{ name: "x", type: "Nope" }, { type: "Kafka" }] },
      "connections/c.json": '{"connections": [\n  {"name": "m",}\n]}',
      "connections/d.json": { conections: [] },
      "connections/e.json": [{ ...kafka }],
    });
    expect(await problemsOf(readConnectionFiles(dir))).toEqual([
      expect.stringMatching(
        /^connections\/b\.json: connections\[0\]\.type: Unsupported connection type 'Nope'/,
      ),
      "connections/b.json: connections[1].name: a connection needs a non-empty string 'name'",
      "connections/c.json: : not valid JSON: line 2, column 16: unexpected '}', expected a property name in double quotes",
      'connections/d.json: connections: expected {"connections": [{name, type, config}]} or an array of connections',
      expect.stringMatching(
        /^connections\/e\.json: \[0\]\.name: connection 'kafka' is already defined in .*connections\/a\.json$/,
      ),
    ]);
  });

  it("says how to start when the folder has no connections/", async () => {
    const dir = folder({ "processors/p.json": { name: "p", pipeline } });
    await expect(readConnectionFiles(dir)).rejects.toMatchObject({
      exitCode: EXIT.usage,
      message: expect.stringContaining("no such folder"),
      hint: expect.stringContaining("sp workspaces init DIR"),
    });
  });
});

describe("readProcessorFiles", () => {
  it("leaves out the sp test cases kept beside the processors (*.test.json)", async () => {
    const dir = folder({
      "processors/orders.json": { name: "orders", pipeline },
      "processors/orders.test.json": { cases: [{ name: "a case", input: [], expect: { output: [] } }] },
    });
    expect((await readProcessorFiles(dir)).map((p) => p.definition.name)).toEqual(["orders"]);
  });

  it("reads {name, pipeline, options} and keeps the pipeline as written", async () => {
    const dir = folder({
      "processors/orders.json": {
        name: "orders",
        pipeline,
        options: { dlq: { connectionName: "m", db: "d", coll: "dlq" } },
      },
      "processors/plain.json": {
        pipeline: [{ $source: { connectionName: "s", config: { x: "{{X}}" } } }],
      }, // no name: the file's, as the seed sp tool names processors
    });
    const processors = await readProcessorFiles(dir);
    expect(processors.map((p) => p.definition)).toEqual([
      { name: "orders", pipeline, options: { dlq: { connectionName: "m", db: "d", coll: "dlq" } } },
      { name: "plain", pipeline: [{ $source: { connectionName: "s", config: { x: "{{X}}" } } }] },
    ]);
  });

  it("reports malformed JSON with line and column, and shape problems with their path", async () => {
    const dir = folder({
      "processors/broken.json":
        '{\n  "name": "x",\n  "pipeline": [\n    {"$match": {}}\n    {"$merge": {}}\n  ]\n}',
      "processors/noname.json": { name: "", pipeline: [], options: [] },
      "processors/stages.json": { name: "s", pipeline: [{ $match: {}, $project: {} }, "x"], tier: "SP10" },
      "processors/dup.json": { name: "s", pipeline },
    });
    expect(await problemsOf(readProcessorFiles(dir))).toEqual([
      "processors/broken.json: : not valid JSON: line 5, column 5: unexpected '{', expected ',' or ']' after an array element",
      'processors/noname.json: name: expected the processor\'s name (a non-empty string), got the string ""',
      "processors/noname.json: pipeline: expected a non-empty array of stages, got an array",
      'processors/noname.json: options: expected an object like {"dlq": {…}}, got an array',
      "processors/stages.json: tier: unknown key; a processor file holds name, pipeline and options",
      'processors/stages.json: pipeline[0]: expected a stage object with one key like {"$match": {…}}, got an object',
      'processors/stages.json: pipeline[1]: expected a stage object with one key like {"$match": {…}}, got the string "x"',
    ]);
  });

  it("refuses two files defining the same processor", async () => {
    const dir = folder({
      "processors/a.json": { name: "p", pipeline },
      "processors/b.json": { name: "p", pipeline },
    });
    const [problem] = await problemsOf(readProcessorFiles(dir));
    expect(problem).toMatch(
      /^processors\/b\.json: name: processor 'p' is already defined in .*processors\/a\.json$/,
    );
  });

  it("refuses an empty processors/ folder with an example", async () => {
    const dir = folder({ "processors/README.md": "nothing" });
    await expect(readProcessorFiles(dir)).rejects.toMatchObject({
      message: expect.stringContaining("holds no .json files"),
      hint: expect.stringContaining('"pipeline"'),
    });
  });
});

describe("filesUsingVariable", () => {
  it("names the files that use a {{VAR}}", async () => {
    const dir = folder({
      "connections/a.json": { connections: [kafka] },
      "processors/p.json": { name: "p", pipeline: [{ $source: { connectionName: "{{ KAFKA_BROKERS }}" } }] },
      "processors/q.json": { name: "q", pipeline },
    });
    const files = await filesUsingVariable(dir, "KAFKA_BROKERS");
    expect(files.map((f) => f.replace(/^.*sp-folder-[^/]+\//, ""))).toEqual([
      "connections/a.json",
      "processors/p.json",
    ]);
  });
});

describe("initWorkspaceFolder", () => {
  it("writes a folder that reads back cleanly and refuses to overwrite it", async () => {
    const parent = mkdtempSync(join(tmpdir(), "sp-init-"));
    created.push(parent);
    const dir = join(parent, "ws");
    const files = await initWorkspaceFolder(dir);
    expect(files).toHaveLength(4);
    expect((await readConnectionFiles(dir)).map((c) => c.name)).toEqual(["solar", "mongodb"]);
    expect((await readProcessorFiles(dir)).map((p) => p.definition.name)).toEqual([
      "solarAverages",
      "solarToLog",
    ]);
    expect(readFileSync(join(dir, "README.md"), "utf8")).toContain("sp workspaces connections create");
    await expect(initWorkspaceFolder(dir)).rejects.toMatchObject({
      exitCode: EXIT.usage,
      message: expect.stringContaining("already exist"),
    });
  });
});

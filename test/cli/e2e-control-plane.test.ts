// End to end, as a user works: the real `sp` CLI as a subprocess against a real `sp serve` subprocess, with a
// workspace folder (connections/ + processors/), the shared Kafka broker and the MongoDB stand-in.
// EDDY_E2E_TRANSCRIPT=FILE writes every command with its output to FILE (the README's transcript).
import { Producer } from "@platformatic/kafka";
import { execFile, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaClientOptions } from "../../src/connectors/kafka/connection.ts";
import { eventually } from "../server/helpers.ts";
import { testServices, uniqueName } from "../support/services.ts";
import { spawnServe } from "../support/sp-serve.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const SP = join(ROOT, "bin/sp.js");
const TRANSCRIPT = process.env.EDDY_E2E_TRANSCRIPT;

const db = uniqueName("eddy_cli_e2e");
const topic = uniqueName("cli_orders");
/** The workspace folder; `sp serve` also runs here, so its token lands in .eddy/api-token where sp looks. */
const home = mkdtempSync(join(tmpdir(), "eddy-cli-e2e-"));
const children: ChildProcess[] = [];
let mongo: MongoClient;
let server: { child: ChildProcess; url: string };

/** The environment without any Eddy settings of the machine running the tests. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const key of ["EDDY_SERVER", "EDDY_API_TOKEN", "EDDY_DATA_DIR", "EDDY_STATE_URI"]) {
    if (!(key in extra)) delete env[key];
  }
  return env;
}

function file(path: string, content: unknown): void {
  mkdirSync(join(home, path, ".."), { recursive: true });
  writeFileSync(join(home, path), typeof content === "string" ? content : JSON.stringify(content, null, 2));
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `sp ARGS --server URL` in the workspace folder. */
function sp(args: string[], options: { server?: string | null } = {}): Promise<Run> {
  const server =
    options.server === undefined
      ? ["--server", serverUrl()]
      : options.server === null
        ? []
        : ["--server", options.server];
  return new Promise((done) => {
    execFile(
      process.execPath,
      [SP, ...args, ...server],
      { cwd: home, env: cleanEnv(), timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        if (TRANSCRIPT)
          appendFileSync(
            TRANSCRIPT,
            `$ sp ${args.join(" ")}\n${stdout}${stderr}${code ? `[exit ${code}]\n` : ""}\n`,
          );
        done({ code, stdout, stderr });
      },
    );
  });
}

function serverUrl(): string {
  return server.url;
}

async function serve(): Promise<{ child: ChildProcess; url: string }> {
  const { kafkaBrokers, mongodbUri } = testServices();
  return spawnServe(["--port", "0", "--allow-env", "KAFKA_BROKERS", "--allow-env", "MONGODB_URI"], {
    cwd: home,
    env: cleanEnv({ KAFKA_BROKERS: kafkaBrokers.join(","), MONGODB_URI: mongodbUri }),
    children,
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once("exit", done));
  child.kill("SIGKILL");
  await exited;
}

async function produce(from: number, count: number): Promise<void> {
  const producer = new Producer({
    ...kafkaClientOptions({ bootstrapServers: testServices().kafkaBrokers.join(",") }, "eddy-cli-e2e"),
    autocreateTopics: true,
  });
  // Every third event is a heartbeat the processor's $match drops.
  await producer.send({
    messages: Array.from({ length: count }, (_, i) => {
      const n = from + i;
      const event =
        n % 3 === 2 ? { kind: "heartbeat", n } : { kind: "order", orderId: n, qty: n % 5, price: 3 };
      return { topic, value: Buffer.from(JSON.stringify(event)) };
    }),
  });
  await producer.close();
}

const ordersIn = (from: number, count: number): number =>
  Array.from({ length: count }, (_, i) => from + i).filter((n) => n % 3 !== 2).length;

async function statsJson(): Promise<{ inputMessageCount: number; outputMessageCount: number }> {
  const run = await sp(["stats", "--processor", "orders", "--json"]);
  expect(run.code).toBe(0);
  return (JSON.parse(run.stdout) as { stats: { inputMessageCount: number; outputMessageCount: number } })
    .stats;
}

const orders = () => mongo.db(db).collection("orders");

beforeAll(async () => {
  mongo = new MongoClient(testServices().mongodbUri);
  file("connections/kafka.json", {
    connections: [{ name: "kafka", type: "Kafka", config: { bootstrapServers: "{{KAFKA_BROKERS}}" } }],
  });
  file("connections/mongodb.json", {
    connections: [{ name: "mongodb", type: "Cluster", config: { uri: "{{MONGODB_URI}}" } }],
  });
  file("processors/orders.json", {
    name: "orders",
    pipeline: [
      {
        $source: {
          connectionName: "kafka",
          topic,
          config: { auto_offset_reset: "earliest", group_id: uniqueName("cli_e2e") },
        },
      },
      { $match: { kind: "order" } },
      { $addFields: { total: { $multiply: ["$qty", "$price"] } } },
      { $merge: { into: { connectionName: "mongodb", db, coll: "orders" } } },
    ],
    options: {},
  });
  // The topic exists before the processor starts, with a first batch that auto_offset_reset: earliest picks up.
  await produce(0, 12);
  server = await serve();
});

afterAll(async () => {
  for (const child of children) await kill(child);
  await mongo.db(db).dropDatabase();
  await mongo.close();
  rmSync(home, { recursive: true, force: true });
});

describe("sp against sp serve", () => {
  it(
    "deploys a workspace folder, runs it, and keeps its state across a server restart",
    { timeout: 180_000 },
    async () => {
      const connections = await sp(["workspaces", "connections", "create"]);
      expect(connections).toMatchObject({ code: 0 });
      expect(connections.stdout).toMatch(/created connection kafka \(connections\/kafka\.json\)/);
      expect(connections.stdout).toMatch(/created connection mongodb \(connections\/mongodb\.json\)/);

      const listed = await sp(["workspaces", "connections", "list"]);
      expect(listed.stdout).toMatch(/kafka +Kafka/);
      expect(listed.stdout).toMatch(/mongodb +Cluster/);

      expect((await sp(["processors", "create"])).stdout).toContain(
        "created processor orders (processors/orders.json)",
      );
      expect((await sp(["list"])).stdout).toMatch(/orders +CREATED/);

      const started = await sp(["processors", "start"]);
      expect(started).toMatchObject({ code: 0, stdout: "started processor orders\n" });

      await produce(12, 12);
      const moving = await eventually(
        async () => {
          const stats = await statsJson();
          return stats.inputMessageCount === 24 ? stats : undefined;
        },
        60_000,
        "24 events counted by sp stats --json",
      );
      expect(moving.outputMessageCount).toBe(ordersIn(0, 24));
      await eventually(
        async () => ((await orders().countDocuments()) === ordersIn(0, 24) ? true : undefined),
        30_000,
        "orders in MongoDB",
      );
      expect(await orders().findOne({ orderId: 4 })).toMatchObject({ kind: "order", qty: 4, total: 12 });
      expect(await orders().countDocuments({ kind: "heartbeat" })).toBe(0);

      const table = await sp(["stats"]);
      expect(table.stdout).toMatch(/orders +STARTED +24 +16 +0 /);

      const watched = await sp(["stats", "--watch", "--count", "2", "--interval", "0.2", "--json"]);
      const ticks = watched.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { results: Array<{ name: string }> });
      expect(ticks).toHaveLength(2);
      expect(ticks[1].results[0].name).toBe("orders");

      const stopped = await sp(["stop"]);
      expect(stopped).toMatchObject({ code: 0 });
      expect(stopped.stdout).toMatch(/stopped processor orders — 24 in, 16 out, 0 to the DLQ/);

      // Kill the server hard and start it again: the state store keeps the processor, STOPPED.
      await kill(server.child);
      server = await serve();
      expect((await sp(["list"])).stdout).toMatch(/orders +STOPPED/);

      await produce(24, 12);
      expect((await sp(["start"])).code).toBe(0);
      const all = ordersIn(0, 36);
      await eventually(
        async () => ((await orders().countDocuments()) === all ? true : undefined),
        60_000,
        `${all} orders`,
      );
      const stats = await eventually(
        async () => {
          const s = await statsJson();
          return s.inputMessageCount >= 36 ? s : undefined;
        },
        30_000,
        "stats after the restart",
      );
      // Resumed from the checkpoint: the first 24 events were not read again, and nothing was written twice.
      expect(stats.inputMessageCount).toBe(36);
      expect(new Set((await orders().find().toArray()).map((d) => d.orderId)).size).toBe(all);
      expect(await orders().countDocuments()).toBe(all);

      const restarted = await sp(["restart"]);
      expect(restarted).toMatchObject({ code: 0, stdout: "restarted processor orders\n" });
      expect((await sp(["stop"])).code).toBe(0);
    },
  );

  it(
    "reports bad input with what to do next, and the exit code scripts can test",
    { timeout: 120_000 },
    async () => {
      // Creating a stopped processor again from the same file changes nothing (the seed sp tool's routine).
      const duplicate = await sp(["processors", "create"]);
      expect(duplicate).toMatchObject({
        code: 0,
        stdout: "unchanged processor orders (processors/orders.json)\n",
      });

      // A malformed file in another folder: file, line and JSON path; nothing is sent, not even the valid file.
      const bad = join(home, "bad");
      mkdirSync(join(bad, "processors"), { recursive: true });
      writeFileSync(
        join(bad, "processors/fine.json"),
        JSON.stringify({ name: "neverSent", pipeline: [{ $source: {} }] }),
      );
      writeFileSync(
        join(bad, "processors/broken.json"),
        '{"name": "broken",\n "pipeline": [{"$match": {}},]}',
      );
      writeFileSync(
        join(bad, "processors/noname.json"),
        JSON.stringify({ name: 7, pipeline: [{ $match: {} }] }),
      );
      const malformed = await sp(["processors", "create", "--dir", bad]);
      expect(malformed.code).toBe(2);
      expect(malformed.stderr).toContain("nothing was sent");
      expect(malformed.stderr).toMatch(/bad\/processors\/broken\.json: not valid JSON: line 2, column 30/);
      expect(malformed.stderr).toMatch(/bad\/processors\/noname\.json: name: expected the processor's name/);
      expect((await sp(["list"])).stdout).not.toContain("neverSent");

      // An unknown connection: the server's 400 with the JSON path, and the next step.
      const unknown = join(home, "unknown");
      mkdirSync(join(unknown, "processors"), { recursive: true });
      writeFileSync(
        join(unknown, "processors/lost.json"),
        JSON.stringify({
          name: "lost",
          pipeline: [
            { $source: { connectionName: "nope", topic } },
            { $merge: { into: { connectionName: "mongodb", db, coll: "x" } } },
          ],
        }),
      );
      const lost = await sp(["processors", "create", "--dir", unknown]);
      expect(lost.code).toBe(1);
      expect(lost.stderr).toContain("pipeline[0].$source.connectionName");
      expect(lost.stderr).toContain("nope");
      expect(lost.stderr).toContain("sp workspaces connections create");

      // A variable the server does not have: named at start, with the local file that uses it.
      const vars = join(home, "vars");
      mkdirSync(join(vars, "connections"), { recursive: true });
      mkdirSync(join(vars, "processors"), { recursive: true });
      writeFileSync(
        join(vars, "connections/secret.json"),
        JSON.stringify({
          connections: [{ name: "secretMongo", type: "Cluster", config: { uri: "{{E2E_UNSET_URI}}" } }],
        }),
      );
      writeFileSync(
        join(vars, "processors/secret.json"),
        JSON.stringify({
          name: "secret",
          pipeline: [
            { $source: { connectionName: "sample_stream_solar" } },
            { $merge: { into: { connectionName: "secretMongo", db, coll: "s" } } },
          ],
        }),
      );
      expect((await sp(["workspaces", "connections", "create", "--dir", vars])).code).toBe(0);
      expect((await sp(["processors", "create", "--dir", vars])).code).toBe(0);
      const missing = await sp(["start", "--processor", "secret", "--dir", vars]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("E2E_UNSET_URI");
      expect(missing.stderr).toMatch(/appears in vars\/connections\/secret\.json/);
      expect((await sp(["processors", "drop", "--processor", "secret"])).code).toBe(0);

      // A wrong token: 401, exit 4, and how to pass the right one.
      const wrongToken = await sp(["start", "--token", "not-the-token"]);
      expect(wrongToken.code).toBe(4);
      expect(wrongToken.stderr).toContain("--token TOKEN or EDDY_API_TOKEN");

      // No server there: exit 3 and how to start one.
      const nobody = await sp(["list"], { server: "http://127.0.0.1:9" });
      expect(nobody.code).toBe(3);
      expect(nobody.stderr).toContain("no Eddy server at http://127.0.0.1:9");
      expect(nobody.stderr).toContain("sp serve");

      // Starting a running processor: ASP's refusal, and the restart command.
      expect((await sp(["start", "--processor", "orders"])).code).toBe(0);
      const again = await sp(["start", "--processor", "orders"]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain("already STARTED");
      expect(again.stderr).toContain("sp processors restart --processor orders");
      expect((await sp(["stop", "--processor", "orders"])).code).toBe(0);
    },
  );

  it("manages a second workspace: replace in place, drop --all, delete", { timeout: 120_000 }, async () => {
    const second = join(home, "second");
    mkdirSync(join(second, "connections"), { recursive: true });
    mkdirSync(join(second, "processors"), { recursive: true });
    writeFileSync(
      join(second, "connections/solar.json"),
      JSON.stringify({
        connections: [{ name: "solar", type: "Sample", config: { dataset: "sample_stream_solar" } }],
      }),
    );
    const toLog = (watts: number) =>
      JSON.stringify({
        name: "toLog",
        pipeline: [
          { $source: { connectionName: "solar" } },
          { $match: { "obs.watts": { $gte: watts } } },
          { $emit: { connectionName: "__testLog" } },
        ],
      });
    writeFileSync(join(second, "processors/toLog.json"), toLog(100));
    const ws = ["--workspace", "second", "--dir", second];

    expect((await sp(["workspaces", "create", "second"])).stdout).toBe("created workspace second\n");
    expect((await sp(["workspaces", "connections", "create", ...ws])).code).toBe(0);
    expect((await sp(["processors", "create", ...ws])).code).toBe(0);
    const listed = await sp(["workspaces", "list"]);
    expect(listed.stdout).toMatch(/default +\d+ +1 /);
    expect(listed.stdout).toMatch(/second +\d+ +1 /);

    writeFileSync(join(second, "processors/toLog.json"), toLog(200));
    const replaced = await sp(["processors", "create", "--replace", "--json", ...ws]);
    expect(replaced.code).toBe(0);
    expect(JSON.parse(replaced.stdout)).toEqual({
      results: [{ name: "toLog", action: "updated", ok: true, file: "second/processors/toLog.json" }],
    });
    const shown = JSON.parse((await sp(["list", "--json", ...ws])).stdout) as {
      results: Array<{ name: string; pipeline: Array<Record<string, unknown>> }>;
    };
    expect(shown.results[0].pipeline[1]).toEqual({ $match: { "obs.watts": { $gte: 200 } } });

    expect((await sp(["processors", "drop", ...ws])).code).toBe(2);
    expect((await sp(["processors", "drop", "--all", ...ws])).stdout).toBe("dropped processor toLog\n");
    expect((await sp(["workspaces", "connections", "delete", "solar", ...ws])).code).toBe(0);
    expect((await sp(["workspaces", "delete", "second"])).code).toBe(0);
    const gone = await sp(["list", "--workspace", "second"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("sp workspaces create NAME");
  });
});

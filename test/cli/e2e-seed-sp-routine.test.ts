// The seed `sp` tool's routine (kgorman/ASP_base, ../shared/asp-corpus/README.md "Target 1"), replayed
// command by command with Eddy's `sp` against a real `sp serve`: a workspace folder with config.txt
// (SP_WORKSPACE_NAME), connections/connections.json in the tool's shapes and processors/*.json.
import { execFile, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../server/helpers.ts";
import { testServices, uniqueName } from "../support/services.ts";
import { spawnServe } from "../support/sp-serve.ts";

const SP = join(resolve(import.meta.dirname, "../.."), "bin/sp.js");
const db = uniqueName("eddy_seed_sp");
const workspace = uniqueName("seedws");
const home = mkdtempSync(join(tmpdir(), "eddy-seed-sp-"));
const children: ChildProcess[] = [];
let mongo: MongoClient;
let url: string;

function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const key of ["EDDY_SERVER", "EDDY_API_TOKEN", "EDDY_DATA_DIR", "EDDY_STATE_URI", "SP_WORKSPACE_NAME"])
    if (!(key in extra)) delete env[key];
  return env;
}

function file(path: string, content: unknown): void {
  mkdirSync(join(home, path, ".."), { recursive: true });
  writeFileSync(join(home, path), typeof content === "string" ? content : JSON.stringify(content, null, 2));
}

/** `sp ARGS` in the workspace folder; the server comes from config.txt like the workspace does. */
function sp(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [SP, ...args],
      { cwd: home, env: cleanEnv(), timeout: 60_000 },
      (error, stdout, stderr) =>
        done({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, out: stdout + stderr }),
    );
  });
}

function processor(tag: string): object {
  return {
    name: "iot_alerts",
    pipeline: [
      { $source: { connectionName: "test_stream" } },
      { $match: { status: "ok" } },
      { $addFields: { tag } },
      { $merge: { into: { connectionName: "atlas_cluster", db, coll: "alerts" } } },
    ],
  };
}

const alerts = () => mongo.db(db).collection("alerts");

beforeAll(async () => {
  mongo = new MongoClient(testServices().mongodbUri);
  const server = await spawnServe(["--port", "0", "--allow-env", "MONGODB_URI"], {
    cwd: home,
    env: cleanEnv({ MONGODB_URI: testServices().mongodbUri }),
    children,
  });
  url = server.url;
  file(
    "config.txt",
    [
      "# Atlas settings the seed tool needs; Eddy ignores them",
      "PUBLIC_KEY=abc",
      "PRIVATE_KEY=def",
      "PROJECT_ID=0123",
      `SP_WORKSPACE_NAME=${workspace}`,
      `EDDY_SERVER=${url}`,
      "",
    ].join("\n"),
  );
  file("connections/connections.json", {
    connections: [
      { name: "atlas_cluster", type: "Cluster", config: { uri: "{{MONGODB_URI}}" } },
      { name: "weather_api", type: "Https", config: { baseUrl: "https://api.example.com/v1" } },
      {
        name: "test_stream",
        type: "Sample",
        config: { format: "sampleiot", interval: { size: 20, unit: "millisecond" }, seed: 12345 },
      },
    ],
  });
  file("processors/iot_alerts.json", processor("v1"));
}, 60_000);

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await mongo
    .db(db)
    .dropDatabase()
    .catch(() => undefined);
  await mongo.close();
});

describe("the seed sp tool's routine against sp serve", () => {
  it("runs create, deploy, start, stats, stop, redeploy and restart --reload as the tool's users type them", async () => {
    expect(await sp("workspaces", "create", workspace)).toMatchObject({ code: 0 });

    const connections = await sp("workspaces", "connections", "create");
    expect(connections.out).toMatch(/created connection atlas_cluster/);
    expect(connections.out).toMatch(/created connection weather_api/);
    expect(connections.code).toBe(0);
    // The routine runs it every time: the second run changes nothing and succeeds.
    const again = await sp("create", "connections"); // the tool's docs spell it this way too
    expect(again.out).toMatch(/unchanged connection test_stream/);
    expect(again.code).toBe(0);

    expect(await sp("create", "processors")).toMatchObject({
      code: 0,
      out: expect.stringMatching(/created processor iot_alerts/),
    });
    expect(await sp("processors", "start")).toMatchObject({ code: 0 });
    await eventually(async () => ((await alerts().countDocuments({ tag: "v1" })) > 0 ? true : undefined));

    const stats = await sp("processors", "stats");
    expect(stats.code).toBe(0);
    expect(stats.out).toMatch(/NAME +STATE +IN +OUT +DLQ +ERR % +P50 MS +P99 MS +MEMORY/);
    expect(stats.out).toMatch(/iot_alerts +STARTED/);

    expect(await sp("processors", "stop")).toMatchObject({ code: 0 });
    // Edit the file and create again: the stopped processor is replaced, not refused with a 409.
    file("processors/iot_alerts.json", processor("v2"));
    const redeploy = await sp("processors", "create");
    expect(redeploy.out).toMatch(/replaced processor iot_alerts .*it was stopped/);
    expect(redeploy.code).toBe(0);
    expect(await sp("processors", "start")).toMatchObject({ code: 0 });
    await eventually(async () => ((await alerts().countDocuments({ tag: "v2" })) > 0 ? true : undefined));

    // restart --reload picks up a change made while it runs.
    file("processors/iot_alerts.json", processor("v3"));
    const restart = await sp("processors", "restart", "--processor", "iot_alerts", "--reload");
    expect(restart.out).toMatch(/restarted processor iot_alerts .*reloaded from/);
    expect(restart.code).toBe(0);
    await eventually(async () => ((await alerts().countDocuments({ tag: "v3" })) > 0 ? true : undefined));

    // A running processor is not replaced behind its back: 409 and what to do.
    file("processors/iot_alerts.json", processor("v4"));
    const refused = await sp("processors", "create");
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/it is running: stop it first \(sp processors stop --processor iot_alerts\)/);

    const list = await sp("processors", "list");
    expect(list.out).toMatch(/iot_alerts +STARTED/);
    expect(await sp("processors", "stop")).toMatchObject({ code: 0 });
    expect(await sp("processors", "drop", "iot_alerts")).toMatchObject({ code: 0 });
    expect((await sp("processors", "list")).out).toMatch(/no processors in workspace/);
    // Everything above went to the workspace config.txt names, none to `default`.
    expect((await sp("processors", "list", "--workspace", "default")).out).not.toMatch(/iot_alerts/);
  }, 90_000);
});

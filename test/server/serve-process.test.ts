// `sp serve` as a real process: token file, JSON start line, SIGKILL and restart with a STARTED processor
// coming back from its checkpoint, graceful SIGTERM.
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { afterAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../support/services.ts";
import { eventually } from "./helpers.ts";
import { spawnServe } from "../support/sp-serve.ts";

const db = uniqueName("eddy_serve");
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  const mongo = new MongoClient(testServices().mongodbUri);
  await mongo.db(db).dropDatabase();
  await mongo.close();
});

async function serve(dataDir: string): Promise<{ child: ChildProcess; url: string; stderr: string[] }> {
  const { child, started, url, logs } = await spawnServe(["--port", "0", "--data-dir", dataDir], {
    cwd: dataDir,
    children,
  });
  expect(started.dataDir).toBe(dataDir);
  expect(started.tokenFile).toBe(join(dataDir, "api-token"));
  return { child, url, stderr: logs };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((done) =>
    child.exitCode !== null ? done(child.exitCode) : child.once("exit", (code) => done(code)),
  );

describe("sp serve", () => {
  it(
    "survives SIGKILL: a STARTED processor comes back from its checkpoint",
    { timeout: 120_000 },
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), "eddy-serve-"));
      let server = await serve(dataDir);
      const token = (await readFile(join(dataDir, "api-token"), "utf8")).trim();
      expect(token.length).toBeGreaterThan(20);
      expect((await stat(join(dataDir, "api-token"))).mode & 0o777).toBe(0o600);

      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${server.url}/api/v1/workspaces/default${path}`, {
          method,
          headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
      };
      expect(
        (
          await call("POST", "/connections", {
            name: "atlas",
            type: "Cluster",
            config: { uri: testServices().mongodbUri },
          })
        ).status,
      ).toBe(201);
      expect(
        (
          await call("POST", "/connections", {
            name: "solar",
            type: "Sample",
            config: { dataset: "sample_stream_solar", rate: 100 },
          })
        ).status,
      ).toBe(201);
      const pipeline = [
        { $source: { connectionName: "solar" } },
        { $merge: { into: { connectionName: "atlas", db, coll: "solar" } } },
      ];
      expect((await call("POST", "/processors", { name: "survivor", pipeline })).status).toBe(201);
      expect((await call("POST", "/processors/survivor:start")).status).toBe(200);
      const stats = async () => (await call("GET", "/processors/survivor/stats")).body.stats;
      // Wait for a checkpoint that has counted some input.
      const checkpointed = await eventually(
        async () => {
          const s = await stats();
          return s.lastCheckpoint && s.inputMessageCount > 20 ? s : undefined;
        },
        30_000,
        "a checkpoint",
      );
      expect(checkpointed.status).toBe("running");

      server.child.kill("SIGKILL");
      await exited(server.child);

      server = await serve(dataDir);
      const back = await eventually(
        async () => {
          const p = (await call("GET", "/processors/survivor")).body;
          return p.status?.state === "running" ? p : undefined;
        },
        30_000,
        "the processor to run again",
      );
      expect(back.state).toBe("STARTED");
      const restored = (await stats()).inputMessageCount as number;
      expect(restored).toBeGreaterThan(0);
      await eventually(
        async () => ((await stats()).inputMessageCount > restored ? true : undefined),
        30_000,
        "stats to move after the restart",
      );

      // SIGTERM: a graceful stop that keeps the processor STARTED for the next start.
      server.child.kill("SIGTERM");
      expect(await exited(server.child)).toBe(0);
      expect(server.stderr.join("")).toContain('"msg":"stopped"');
      server = await serve(dataDir);
      await eventually(
        async () =>
          (await call("GET", "/processors/survivor")).body.status?.state === "running" ? true : undefined,
        30_000,
        "running after SIGTERM + start",
      );
      server.child.kill("SIGTERM");
      expect(await exited(server.child)).toBe(0);
    },
  );
});

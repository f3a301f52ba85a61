// The server on MongoDB and Redis state stores: everything lives in the store, so a server with a fresh
// data dir on the same store sees the workspaces, connections and processors, and resumes STARTED ones.
import { MongoClient } from "mongodb";
import { createClient } from "redis";
import { afterAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../support/services.ts";
import { eventually, startTestServer } from "./helpers.ts";

const db = uniqueName("eddy_state_srv");
const redisPrefix = uniqueName("eddy");

afterAll(async () => {
  const mongo = new MongoClient(testServices().mongodbUri);
  await mongo.db(db).dropDatabase();
  await mongo.close();
});

const stores: Array<[string, () => string]> = [
  ["MongoDB", () => testServices().mongodbUri.replace("/?", `/${db}?`)],
  ["Redis", () => `${testServices().redisUrl}?prefix=${redisPrefix}:`],
];

describe.each(stores)("state in %s", (label, uri) => {
  it("is shared by servers with different data dirs and resumes STARTED processors", async () => {
    const ws = uniqueName("ws").replace(/_/g, "-");
    const first = await startTestServer({ stateUri: uri() });
    const P = `/api/v1/workspaces/${ws}/processors`;
    expect((await first.api("POST", "/api/v1/workspaces", { name: ws })).status).toBe(201);
    await first.api("POST", `/api/v1/workspaces/${ws}/connections`, {
      name: "atlas",
      type: "Cluster",
      config: { uri: testServices().mongodbUri },
    });
    await first.api("POST", P, {
      name: "p",
      pipeline: [
        { $source: { connectionName: "sample_stream_solar" } },
        { $merge: { into: { connectionName: "atlas", db, coll: label } } },
      ],
    });
    expect((await first.api("POST", `${P}/p:start`)).status).toBe(200);
    await eventually(async () =>
      (await first.api("GET", `${P}/p/stats`)).body.stats.inputMessageCount > 0 ? true : undefined,
    );
    expect((await first.api("GET", "/ready")).body).toEqual({ status: "ready" });
    await first.close();

    const second = await startTestServer({ stateUri: uri() });
    try {
      await second.resumed;
      expect((await second.api("GET", "/api/v1/workspaces")).body.results).toContainEqual(
        expect.objectContaining({ name: ws, connections: 1, processors: 1 }),
      );
      // With a shared store the processor runs wherever its lease is taken: here, on the only server left.
      const back = await eventually(async () => {
        const view = (await second.api("GET", `${P}/p`)).body;
        return view.status?.state === "running" ? view : undefined;
      });
      expect(back).toMatchObject({ state: "STARTED", status: { state: "running" } });
      expect((await second.api("GET", `${P}/p/stats`)).body.stats.inputMessageCount).toBeGreaterThan(0);
      expect((await second.api("POST", `${P}/p:stop`)).status).toBe(200);
      expect((await second.api("DELETE", `/api/v1/workspaces/${ws}`)).status).toBe(200);
    } finally {
      await second.close();
    }
  });
});

afterAll(async () => {
  // The Redis records of this run live under its own prefix.
  const redis = createClient({ url: testServices().redisUrl });
  await redis.connect();
  for (const key of await redis.keys(`${redisPrefix}*`)) await redis.del(key);
  redis.destroy();
});

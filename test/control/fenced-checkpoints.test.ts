// Checkpoints written under a lease are fenced by its token in the state store itself (MongoDB stand-in and
// Redis, both real): a holder paused between confirming its lease and writing cannot overwrite the
// checkpoint of the holder that took the lease over, and that holder's checkpoint stays whole.
import { MongoClient } from "mongodb";
import { createClient, type RedisClientType } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHECKPOINTS_COLLECTION, StateStoreCheckpoints } from "../../src/control/checkpoint-store.ts";
import { FencedCheckpoints } from "../../src/control/lease-placement.ts";
import { LeaseKeeper } from "../../src/control/leases/lease-keeper.ts";
import { LeaseLostError, type Lease } from "../../src/control/leases/lease.ts";
import { MongoStateStore } from "../../src/control/mongo-state-store.ts";
import { RedisStateStore } from "../../src/control/redis-state-store.ts";
import type { StateStore } from "../../src/control/state-store.ts";
import type { Checkpoint } from "../../src/runtime/checkpoint.ts";
import { pausingStore } from "../support/pausing-store.ts";
import { testServices, uniqueName } from "../support/services.ts";

const db = uniqueName("eddy_fenced");
let mongo: MongoClient;
let redis: RedisClientType;

beforeAll(async () => {
  mongo = new MongoClient(testServices().mongodbUri, { serverSelectionTimeoutMS: 10_000 });
  await mongo.connect();
  redis = createClient({ url: testServices().redisUrl });
  await redis.connect();
});

afterAll(async () => {
  await mongo.db(db).dropDatabase();
  await mongo.close();
  redis.destroy();
});

const stores: Array<[string, () => StateStore]> = [
  ["MongoDB", () => new MongoStateStore(mongo, { db })],
  ["Redis", () => new RedisStateStore(redis, { prefix: `${uniqueName("eddy")}:` })],
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A checkpoint whose window state is `state` (chunked apart from the head). */
const checkpoint = (id: number, offset: number, state: string): Checkpoint => ({
  id,
  createdAt: 1_000 + id,
  sourcePositions: { "orders:3": offset },
  operatorState: { window: { state } },
  stats: { inputMessageCount: offset },
});

describe.each(stores)("checkpoints fenced by a lease in the %s state store", (_name, makeStore) => {
  it("refuse a stale holder's save once a newer holder claimed them, and keep the newer checkpoint whole", async () => {
    const store = makeStore();
    const key = uniqueName("processor/p1/partition/3");
    const a = new StateStoreCheckpoints(store, key, { fence: 4 });
    expect(await a.load()).toBeUndefined();
    await a.save(checkpoint(7, 700, "a7"));

    // The lease moved (token 5): the new holder loads A's checkpoint; from then on A's saves are refused.
    const b = new StateStoreCheckpoints(store, key, { fence: 5 });
    expect((await b.load())?.operatorState).toEqual({ window: { state: "a7" } });
    await expect(a.save(checkpoint(8, 800, "a8"))).rejects.toMatchObject({
      name: "FencedWriteError",
      token: 4,
    });
    await b.save(checkpoint(8, 810, "b8"));
    // The stale holder's next save has the same id as the new holder's: its chunks must not replace B's.
    await expect(a.save(checkpoint(8, 820, "a8 again"))).rejects.toThrow(/newer holder of its lease/);
    // A kind of LeaseLostError, which the control plane takes as "runs elsewhere now", not as a failure.
    await expect(a.load()).rejects.toBeInstanceOf(LeaseLostError);

    const stored = await new StateStoreCheckpoints(store, key).load();
    expect(stored).toEqual(checkpoint(8, 810, "b8"));
    // A record that was only claimed (its holder saved nothing yet) is no record for get and list.
    const claimed = `${key}-claimed`;
    expect(await new StateStoreCheckpoints(store, claimed, { fence: 1 }).load()).toBeUndefined();
    expect(await store.get(CHECKPOINTS_COLLECTION, claimed)).toBeUndefined();
    const ids = (await store.list(CHECKPOINTS_COLLECTION)).map((record) => record.id);
    expect(ids).toContain(key);
    expect(ids).not.toContain(claimed);
    // The new holder continues as before.
    await b.save(checkpoint(9, 900, "b9"));
    expect(await new StateStoreCheckpoints(store, key).load()).toEqual(checkpoint(9, 900, "b9"));
  });

  it("refuse a save whose holder lost the lease after confirming it, and give the lease up", async () => {
    const real = makeStore();
    const leases = real.leases?.();
    if (!leases) throw new Error("a shared store has leases");
    const resource = uniqueName("processor/p2/partition/0");
    const key = uniqueName("processor/p2/partition/0");
    const events: string[] = [];
    // Holder A renews only when it checkpoints (its timer is far away), as a paused process would.
    const keeperA = new LeaseKeeper({
      store: leases,
      resource,
      owner: "a",
      ttlMs: 300,
      intervalMs: 60_000,
      onAcquired: () => undefined,
      onLost: () => {
        events.push("a lost");
      },
    });
    keeperA.start();
    while (!keeperA.current()) await sleep(10);
    const tokenA = keeperA.current()?.token as number;
    const { store, arm, resume } = pausingStore(real);
    const refused: number[] = [];
    const a = new FencedCheckpoints(
      new StateStoreCheckpoints(store, key, { fence: tokenA }),
      keeperA,
      (error) => refused.push(error.token),
    );
    expect(await a.load()).toBeUndefined();
    // A confirms its lease, then stalls before its write lands.
    const paused = arm();
    const saving = a.save(checkpoint(1, 100, "a1"));
    await paused;
    await sleep(400); // past A's lease
    const leaseB = (await leases.tryAcquire(resource, "b", 10_000)) as Lease;
    expect(leaseB.token).toBeGreaterThan(tokenA);
    const b = new StateStoreCheckpoints(real, key, { fence: leaseB.token });
    await b.load();
    await b.save(checkpoint(1, 150, "b1"));

    resume();
    await expect(saving).rejects.toMatchObject({ name: "FencedWriteError", token: tokenA });
    expect(refused).toEqual([tokenA]);
    expect(events).toEqual(["a lost"]);
    expect(keeperA.current()).toBeUndefined();
    expect(await new StateStoreCheckpoints(real, key).load()).toEqual(checkpoint(1, 150, "b1"));
    expect((await leases.holder(resource))?.owner).toBe("b");
    await keeperA.stop();
  });
});

import { Long } from "bson";
import { MongoClient } from "mongodb";
import { createClient, type RedisClientType } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHECKPOINTS_COLLECTION, StateStoreCheckpoints } from "../../src/control/checkpoint-store.ts";
import { FencedCheckpoints } from "../../src/control/lease-placement.ts";
import { LeaseKeeper, type LeaseKeeperOptions } from "../../src/control/leases/lease-keeper.ts";
import { LeaseLostError, type Lease, type LeaseStore } from "../../src/control/leases/lease.ts";
import { MongoLeaseStore } from "../../src/control/leases/mongo-lease-store.ts";
import { RedisLeaseStore } from "../../src/control/leases/redis-lease-store.ts";
import { MongoStateStore } from "../../src/control/mongo-state-store.ts";
import { RedisStateStore } from "../../src/control/redis-state-store.ts";
import type { StateStore } from "../../src/control/state-store.ts";
import type { Checkpoint } from "../../src/runtime/checkpoint.ts";
import { pausingStore } from "../support/pausing-store.ts";
import { testServices, uniqueName } from "../support/services.ts";

const db = uniqueName("eddy_leases");
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

const stores: Array<[string, () => LeaseStore]> = [
  ["MongoDB", () => new MongoLeaseStore(mongo, { db })],
  ["Redis", () => new RedisLeaseStore(redis, { prefix: `${uniqueName("eddy")}:` })],
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(stores)("%s lease store", (_name, makeStore) => {
  it("gives an unexpired lease to one owner only, and a growing fencing token to each new holder", async () => {
    const store = makeStore();
    const resource = uniqueName("processor");
    const a = await store.tryAcquire(resource, "a", 10_000);
    expect(a).toMatchObject({ resource, owner: "a", token: 1 });
    expect(await store.tryAcquire(resource, "b", 10_000)).toBeUndefined();
    const again = await store.tryAcquire(resource, "a", 10_000);
    expect(again?.token).toBe(1);
    expect((await store.holder(resource))?.owner).toBe("a");

    await store.release(a as Lease);
    expect(await store.holder(resource)).toBeUndefined();
    const b = await store.tryAcquire(resource, "b", 10_000);
    expect(b).toMatchObject({ owner: "b", token: 2 });
    // The old holder cannot renew or release the new holder's lease.
    expect(await store.renew(a as Lease, 10_000)).toBeUndefined();
    await store.release(a as Lease);
    expect((await store.holder(resource))?.owner).toBe("b");
  });

  it("lets another owner take an expired lease, and the old holder's renewal then fails", async () => {
    const store = makeStore();
    const resource = uniqueName("processor");
    const a = (await store.tryAcquire(resource, "a", 150)) as Lease;
    await sleep(300);
    const b = await store.tryAcquire(resource, "b", 10_000);
    expect(b).toMatchObject({ owner: "b", token: a.token + 1 });
    expect(await store.renew(a, 10_000)).toBeUndefined();
    const renewed = await store.renew(b as Lease, 20_000);
    expect(renewed?.expiresAt).toBeGreaterThan((b as Lease).expiresAt);
  });

  it("never lets two racing owners both win", async () => {
    const store = makeStore();
    const resource = uniqueName("processor");
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store.tryAcquire(resource, `owner-${i}`, 10_000)),
    );
    expect(results.filter((lease) => lease !== undefined)).toHaveLength(1);
  });
});

/** A started keeper; `acquired()` waits (up to 15 s) for the lease it takes, then stops it. */
function startTaking(options: Omit<LeaseKeeperOptions, "onAcquired" | "onLost">) {
  const taking = {
    lease: undefined as Lease | undefined,
    acquired: async () => undefined as Lease | undefined,
  };
  const keeper = new LeaseKeeper({
    ...options,
    onAcquired: (lease) => {
      taking.lease = lease;
    },
    onLost: () => undefined,
  });
  keeper.start();
  taking.acquired = async () => {
    const deadline = Date.now() + 15_000;
    while (!taking.lease && Date.now() < deadline) await sleep(20);
    await keeper.stop();
    return taking.lease;
  };
  return taking;
}

describe("LeaseKeeper", () => {
  it("takes over from a dead holder once its lease expires, then hands over on stop", async () => {
    const store = new MongoLeaseStore(mongo, { db });
    const resource = uniqueName("processor");
    // A holder that died: it took the lease and never renewed it.
    const dead = (await store.tryAcquire(resource, "dead", 400)) as Lease;
    const events: string[] = [];
    const acquiredAt: number[] = [];
    const standby = new LeaseKeeper({
      store,
      resource,
      owner: "standby",
      ttlMs: 400,
      onAcquired: (lease) => {
        acquiredAt.push(Date.now());
        events.push(`acquired ${lease.token}`);
      },
      onLost: () => {
        events.push("lost");
      },
    });
    standby.start();
    while (acquiredAt.length === 0) await sleep(20);
    expect(acquiredAt[0]).toBeGreaterThanOrEqual(dead.expiresAt);
    expect(events).toEqual([`acquired ${dead.token + 1}`]);
    // The holder keeps renewing past several TTLs.
    await sleep(1000);
    expect((await store.holder(resource))?.owner).toBe("standby");
    expect((await standby.confirm()).token).toBe(dead.token + 1);

    const next = new LeaseKeeper({
      store,
      resource,
      owner: "next",
      ttlMs: 400,
      onAcquired: () => {
        events.push("next acquired");
      },
      onLost: () => undefined,
    });
    next.start();
    await standby.stop();
    while (!events.includes("next acquired")) await sleep(20);
    await next.stop();
    expect(events).toEqual([`acquired ${dead.token + 1}`, "next acquired"]);
  });

  it("takes a dead holder's lease when it expires, not a retry interval later", async () => {
    const store = new MongoLeaseStore(mongo, { db });
    const resource = uniqueName("processor");
    const dead = (await store.tryAcquire(resource, "dead", 300)) as Lease;
    // Its own interval is a minute: the first try fails, the next comes at the dead holder's expiry.
    const standby = startTaking({ store, resource, owner: "standby", ttlMs: 180_000 });
    expect(await standby.acquired()).toMatchObject({ owner: "standby", token: dead.token + 1 });
  });

  it("retries every retryMs while the holder is alive, so a released lease is taken soon after", async () => {
    const store = new MongoLeaseStore(mongo, { db });
    const resource = uniqueName("partition");
    const holder = (await store.tryAcquire(resource, "holder", 180_000)) as Lease;
    const next = startTaking({ store, resource, owner: "next", ttlMs: 180_000, retryMs: 100 });
    await sleep(300);
    expect(next.lease).toBeUndefined();
    // The holder hands the lease over (a graceful stop); the next try, within 100 ms, takes it.
    await store.release(holder);
    expect(await next.acquired()).toMatchObject({ owner: "next", token: holder.token + 1 });
  });

  it("reports the loss when another instance fenced it out", async () => {
    const store = new MongoLeaseStore(mongo, { db });
    const resource = uniqueName("processor");
    let lost: Error | undefined;
    const keeper = new LeaseKeeper({
      store,
      resource,
      owner: "a",
      ttlMs: 60_000,
      intervalMs: 50,
      onAcquired: () => undefined,
      onLost: (error) => {
        lost = error;
      },
    });
    keeper.start();
    while (!keeper.current()) await sleep(10);
    // Simulate a takeover (e.g. this instance was paused past expiry): the record changes hands.
    await mongo
      .db(db)
      .collection<{ _id: string }>("leases")
      .updateOne({ _id: resource }, { $set: { owner: "b" }, $inc: { token: 1 } });
    await expect(keeper.confirm()).rejects.toThrow(/lost the lease on .* another instance took over/);
    expect(lost?.name).toBe("LeaseLostError");
    expect(keeper.current()).toBeUndefined();
    await keeper.stop();
  });
});

describe("RedisStateStore", () => {
  it("keeps records per collection with BSON types", async () => {
    const store = new RedisStateStore(redis, { prefix: `${uniqueName("eddy")}:` });
    await store.put("processors", "b", { at: new Date(7), n: 1, big: Long.fromString("9007199254740993") });
    await store.put("processors", "a", { n: 2 });
    expect(await store.get("processors", "b")).toEqual({
      at: new Date(7),
      n: 1,
      big: Long.fromString("9007199254740993"),
    });
    expect((await store.list("processors")).map((r) => r.id)).toEqual(["a", "b"]);
    expect(await store.delete("processors", "a")).toBe(true);
    expect(await store.delete("processors", "a")).toBe(false);
    expect(await store.get("processors", "a")).toBeUndefined();
  });
});

// Checkpoints written under a lease are fenced by its token in the state store itself: a holder paused
// between confirming its lease and writing cannot overwrite the checkpoint of the holder that took the lease
// over, and that holder's checkpoint stays whole.
const stateStores: Array<[string, () => StateStore]> = [
  ["MongoDB", () => new MongoStateStore(mongo, { db })],
  ["Redis", () => new RedisStateStore(redis, { prefix: `${uniqueName("eddy")}:` })],
];

/** A checkpoint whose window state is `state` (chunked apart from the head). */
const checkpoint = (id: number, offset: number, state: string): Checkpoint => ({
  id,
  createdAt: 1_000 + id,
  sourcePositions: { "orders:3": offset },
  operatorState: { window: { state } },
  stats: { inputMessageCount: offset },
});

describe.each(stateStores)("checkpoints fenced by a lease in the %s state store", (_name, makeStore) => {
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

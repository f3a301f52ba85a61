import { Long } from "bson";
import { MongoClient } from "mongodb";
import { createClient, type RedisClientType } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaseKeeper, type LeaseKeeperOptions } from "../../src/control/leases/lease-keeper.ts";
import type { Lease, LeaseStore } from "../../src/control/leases/lease.ts";
import { MongoLeaseStore } from "../../src/control/leases/mongo-lease-store.ts";
import { RedisLeaseStore } from "../../src/control/leases/redis-lease-store.ts";
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
    const { RedisStateStore } = await import("../../src/control/redis-state-store.ts");
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

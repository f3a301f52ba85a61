import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { calculateObjectSize, Decimal128, Long } from "bson";
import { MongoClient } from "mongodb";
import { createClient, type RedisClientType } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHECKPOINT_CHUNKS_COLLECTION,
  CHECKPOINTS_COLLECTION,
  StateStoreCheckpoints,
} from "../../src/control/checkpoint-store.ts";
import { FileStateStore } from "../../src/control/file-state-store.ts";
import { MongoStateStore } from "../../src/control/mongo-state-store.ts";
import {
  decodeBinaryRecord,
  decodeRecord,
  encodeBinaryRecord,
  encodeRecord,
} from "../../src/control/record-codec.ts";
import { RedisStateStore } from "../../src/control/redis-state-store.ts";
import type { StateStore } from "../../src/control/state-store.ts";
import type { Doc } from "../../src/mql/index.ts";
import type { Checkpoint } from "../../src/runtime/checkpoint.ts";
import { decodeState, encodeState } from "../../src/runtime/state-codec.ts";
import { testServices, uniqueName } from "../support/services.ts";

const SIXTEEN_MB = 16 * 1024 * 1024;

/** Window-like state: a Map of keys to accumulator values of every kind of number the codec keeps exact. */
function windowState(keys: number, padding = 0): Map<string, unknown> {
  const state = new Map<string, unknown>();
  for (let i = 0; i < keys; i++)
    state.set(`device-${i}-${"k".repeat(padding)}`, {
      sum: i * 1.5,
      count: i,
      long: Long.fromNumber(i * 1_000_003),
      price: Decimal128.fromString(`${i}.10`),
      at: new Date(1_700_000_000_000 + i),
      odd: [-0, NaN, Infinity, 2 ** 40],
    });
  return state;
}

function checkpointOf(id: number, state: Map<string, unknown>, extra: Doc = {}): Checkpoint {
  return {
    id,
    createdAt: 1_732_370_000_000 + id,
    sourcePositions: { offsets: { "t:0": String(id * 100), "t:1": "7" } },
    operatorState: {
      replay: { run: "r1", partitions: { "t:0": id * 100 }, windowOutputs: 3 },
      window: encodeState(state),
      watermark: encodeState({
        partitions: [
          ["t:0", 5000, 1],
          ["t:1", -Infinity, 1],
        ],
        combined: 4999,
      }),
    },
    stats: { inputMessageCount: id * 100, dlqMessageSize: Long.fromNumber(12) },
    ...extra,
  };
}

function expectSameCheckpoint(loaded: Checkpoint | undefined, saved: Checkpoint): void {
  expect(loaded).toBeDefined();
  const { operatorState: loadedState, ...loadedRest } = loaded as Checkpoint;
  const { operatorState: savedState, ...savedRest } = saved;
  // The head is a record like any other (canonical EJSON: a number beyond int32, createdAt, reads back as Long).
  expect(loadedRest).toEqual(decodeRecord(encodeRecord(savedRest)));
  expect(loadedState?.replay).toEqual(savedState?.replay);
  expect(decodeState(loadedState?.window as Doc)).toEqual(decodeState(savedState?.window as Doc));
  expect(decodeState(loadedState?.watermark as Doc)).toEqual(decodeState(savedState?.watermark as Doc));
}

/** A checkpoint whose operator state is over MongoDB's 16 MB document limit as BSON. */
const large = checkpointOf(7, windowState(110_000, 40), {
  transaction: { id: "eddy-tx", epoch: Long.fromNumber(3) },
});

// First in the file: later tests grow bson's buffer, after which these records no longer overflow it.
describe("encodeBinaryRecord", () => {
  it("encodes records larger than bson's 17 MB serialisation buffer, whatever overflows it", () => {
    for (const doc of [{ text: "é".repeat(10_000_000) }, { bytes: new Uint8Array(20_000_000).fill(7) }]) {
      const bytes = encodeBinaryRecord(doc);
      expect(bytes.length).toBe(calculateObjectSize(doc));
      expect(decodeBinaryRecord(bytes)).toEqual(
        "text" in doc ? doc : { bytes: expect.objectContaining({ position: 20_000_000 }) },
      );
    }
  });
});

describe("StateStoreCheckpoints with chunked operator state", () => {
  let dir: string;
  const mongoDb = uniqueName("eddy_ckpt_chunks");
  let mongo: MongoStateStore;
  let redis: RedisClientType;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "eddy-ckpt-chunks-"));
    mongo = await MongoStateStore.connect(testServices().mongodbUri, { db: mongoDb });
    redis = createClient({ url: testServices().redisUrl }) as RedisClientType;
    await redis.connect();
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    const client = new MongoClient(testServices().mongodbUri);
    await client.db(mongoDb).dropDatabase();
    await client.close();
    await mongo.close();
    redis.destroy();
  });

  it("the test state is larger than a MongoDB document may be", () => {
    expect(calculateObjectSize(large.operatorState as Doc)).toBeGreaterThan(SIXTEEN_MB);
  });

  const stores: Array<[string, () => StateStore]> = [
    ["file", () => new FileStateStore(join(dir, "file"))],
    ["MongoDB", () => mongo],
    ["Redis", () => new RedisStateStore(redis, { prefix: `${uniqueName("eddy")}:` })],
  ];

  for (const [name, storeOf] of stores) {
    it(`round-trips a > 16 MB operator state through the ${name} store, and replaces it`, async () => {
      const store = storeOf();
      const checkpoints = new StateStoreCheckpoints(store, "ws.big");
      await checkpoints.save(large);
      expectSameCheckpoint(await new StateStoreCheckpoints(store, "ws.big").load(), large);

      const small = checkpointOf(8, windowState(10));
      await checkpoints.save(small);
      expectSameCheckpoint(await checkpoints.load(), small);
      // The large checkpoint's chunks are gone.
      for (let index = 0; index < 3; index++)
        expect(await store.getBytes(CHECKPOINT_CHUNKS_COLLECTION, `ws.big@7.${index}`)).toBeUndefined();

      await checkpoints.clear();
      expect(await checkpoints.load()).toBeUndefined();
      expect(await store.getBytes(CHECKPOINT_CHUNKS_COLLECTION, "ws.big@8.0")).toBeUndefined();
    }, 120_000);
  }

  it("writes the file store's chunks as binary files next to a small JSON head", async () => {
    const root = join(dir, "layout");
    const checkpoints = new StateStoreCheckpoints(new FileStateStore(root), "p", { chunkBytes: 4096 });
    await checkpoints.save(checkpointOf(1, windowState(300)));
    const chunks = await readdir(join(root, CHECKPOINT_CHUNKS_COLLECTION));
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every((file) => /^p%401\.\d+\.bin$/.test(file))).toBe(true);
    expect(await readdir(join(root, CHECKPOINTS_COLLECTION))).toEqual(["p.json"]);
  });

  it("loads the old checkpoint when a crash came after the new chunks but before the new head", async () => {
    const root = join(dir, "crash-before-head");
    const store = new FileStateStore(root);
    const first = checkpointOf(1, windowState(200));
    await new StateStoreCheckpoints(store, "p", { chunkBytes: 1000 }).save(first);

    const crashing = withFailure(store, "put");
    await expect(
      new StateStoreCheckpoints(crashing, "p", { chunkBytes: 1000 }).save(checkpointOf(2, windowState(400))),
    ).rejects.toThrow("crash");
    expect(await chunkFiles(root, "2")).not.toHaveLength(0); // the interrupted save's chunks are there

    const restarted = new StateStoreCheckpoints(store, "p", { chunkBytes: 1000 });
    expectSameCheckpoint(await restarted.load(), first);
    // The retried save (smaller than the interrupted one) leaves no stale chunk behind.
    const second = checkpointOf(2, windowState(100));
    await restarted.save(second);
    expectSameCheckpoint(await restarted.load(), second);
    expect(await chunkFiles(root, "1")).toEqual([]);
    const bytes = (await store.get<{ operatorStateChunks: { chunks: number } }>(CHECKPOINTS_COLLECTION, "p"))
      ?.operatorStateChunks.chunks;
    expect(await chunkFiles(root, "2")).toHaveLength(bytes as number);
  });

  it("deletes the previous chunks on the next save when a crash came right after the new head", async () => {
    const root = join(dir, "crash-after-head");
    const store = new FileStateStore(root);
    await new StateStoreCheckpoints(store, "p", { chunkBytes: 1000 }).save(checkpointOf(1, windowState(200)));
    const second = checkpointOf(2, windowState(200));
    await expect(
      new StateStoreCheckpoints(withFailure(store, "delete", true), "p", { chunkBytes: 1000 }).save(second),
    ).rejects.toThrow("crash");
    const checkpoints = new StateStoreCheckpoints(store, "p", { chunkBytes: 1000 });
    expectSameCheckpoint(await checkpoints.load(), second);
    expect(await chunkFiles(root, "1")).not.toHaveLength(0);
    await checkpoints.save(checkpointOf(3, windowState(10)));
    expect(await chunkFiles(root, "1")).toEqual([]);
    expect(await chunkFiles(root, "2")).toEqual([]);
  });

  it("loads a checkpoint written before chunking (one Extended JSON record) and replaces it", async () => {
    const store = new FileStateStore(join(dir, "old-format"));
    const old = checkpointOf(5, windowState(50));
    await store.put(CHECKPOINTS_COLLECTION, "p", old);
    const checkpoints = new StateStoreCheckpoints(store, "p");
    expect(await checkpoints.load()).toEqual(await store.get(CHECKPOINTS_COLLECTION, "p"));
    expectSameCheckpoint(await checkpoints.load(), old);
    const next = checkpointOf(6, windowState(60));
    await checkpoints.save(next);
    expectSameCheckpoint(await checkpoints.load(), next);
  });

  it("keeps a checkpoint without operator state as a plain head", async () => {
    const store = new FileStateStore(join(dir, "no-state"));
    const checkpoints = new StateStoreCheckpoints(store, "p");
    const plain: Checkpoint = { id: 1, createdAt: 5, sourcePositions: { position: 3 } };
    await checkpoints.save(plain);
    expect(await checkpoints.load()).toEqual(plain);
  });
});

/**
 * The store with one operation failing like a crash at that moment (everything before it is written);
 * `afterHead`: only once the head record was written.
 */
function withFailure(store: StateStore, operation: "put" | "delete", afterHead = false): StateStore {
  let headWritten = false;
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === operation && (!afterHead || headWritten))
        return async () => {
          throw new Error("crash");
        };
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        const result: unknown = await (value as (...a: unknown[]) => unknown).apply(target, args);
        if (property === "put") headWritten = true;
        return result;
      };
    },
  });
}

async function chunkFiles(root: string, generation: string): Promise<string[]> {
  const names = await readdir(join(root, CHECKPOINT_CHUNKS_COLLECTION)).catch(() => []);
  return names.filter((name) => name.startsWith(`p%40${generation}.`));
}

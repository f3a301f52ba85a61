// Fault injection: a private MongoDB stand-in (H2 MVStore backend, so documents and the oplog survive a
// restart) is restarted mid-stream while (1) a processor runs Kafka → $merge into it: the sink retries the
// batch that hit the restart and every document arrives; (2) a processor reads its change stream: the
// source resumes after its last token and every event arrives (→ $merge on the shared stand-in).
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPrivateMongo, type PrivateMongo } from "../../scripts/services/private.ts";
import { testServices, uniqueName } from "../support/services.ts";
import { newProducer, produceReliably, sleep, superviseProcessor } from "./helpers.ts";

const EVENTS = 3_000;
const BATCH = 100;

describe("MongoDB stand-in restart mid-stream", () => {
  let mongo: PrivateMongo;
  let client: MongoClient;

  beforeAll(async () => {
    mongo = await startPrivateMongo({ persistent: true });
    client = new MongoClient(mongo.uri, { serverSelectionTimeoutMS: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await mongo?.dispose();
  }, 60_000);

  async function restartWhen(progress: () => number): Promise<number> {
    while (progress() === 0) await sleep(50);
    const before = progress();
    await mongo.stop();
    await sleep(1_000);
    await mongo.start();
    return before;
  }

  it("Kafka → $merge: the sink retries through the restart and every document arrives", async () => {
    const { kafkaBrokers } = testServices();
    const topic = uniqueName("mongo_restart_in");
    const { supervisor } = await superviseProcessor(
      {
        name: "merge_restart",
        pipeline: [
          {
            $source: {
              connectionName: "k",
              topic,
              config: { auto_offset_reset: "earliest", group_id: uniqueName("g") },
            },
          },
          { $addFields: { merged: true } },
          { $merge: { into: { connectionName: "db", db: "faults", coll: "merged" } } },
        ],
      },
      [
        { name: "k", type: "Kafka", config: { bootstrapServers: kafkaBrokers.join(",") } },
        { name: "db", type: "Cluster", config: { uri: mongo.uri } },
      ],
    );
    const producer = newProducer(kafkaBrokers);
    let writtenBefore = 0;
    try {
      for (let start = 0; start < EVENTS; start += BATCH) {
        await produceReliably(
          producer,
          topic,
          Array.from({ length: BATCH }, (_, i) => ({ _id: start + i, id: start + i })),
        );
        if (start === EVENTS / 3)
          writtenBefore = await restartWhen(() => supervisor.stats().outputMessageCount);
        await sleep(20);
      }
      const coll = client.db("faults").collection("merged");
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline && (await coll.countDocuments()) < EVENTS) await sleep(250);
      const ids = (await coll.find({}, { projection: { _id: 1, merged: 1 } }).toArray()).map((d) => d._id);
      console.log(
        `mongo restart ($merge): ${writtenBefore} written before the restart, ${ids.length}/${EVENTS} documents after, ` +
          `supervisor restarts ${supervisor.status().restarts}`,
      );
      expect(writtenBefore).toBeGreaterThan(0);
      expect(writtenBefore).toBeLessThan(EVENTS);
      expect(new Set(ids)).toEqual(new Set(Array.from({ length: EVENTS }, (_, i) => i)));
      expect(await coll.countDocuments({ merged: true })).toBe(EVENTS);
      expect(supervisor.status().state).toBe("running");
    } finally {
      await producer.close().catch(() => undefined);
      await supervisor.stop();
    }
  }, 240_000);

  it("change stream → $merge: the source resumes after its last token, no event lost", async () => {
    const { mongodbUri } = testServices();
    const targetDb = uniqueName("cs_restart");
    const { supervisor } = await superviseProcessor(
      {
        name: "cs_restart",
        pipeline: [
          { $source: { connectionName: "src", db: "faults", coll: "events" } },
          { $replaceRoot: { newRoot: "$fullDocument" } },
          { $merge: { into: { connectionName: "dst", db: targetDb, coll: "copied" } } },
        ],
      },
      [
        { name: "src", type: "Cluster", config: { uri: mongo.uri } },
        { name: "dst", type: "Cluster", config: { uri: mongodbUri } },
      ],
    );
    const target = new MongoClient(mongodbUri);
    const events = client.db("faults").collection<{ _id: number }>("events");
    let copiedBefore = 0;
    try {
      for (let start = 0; start < EVENTS; start += BATCH) {
        const docs = Array.from({ length: BATCH }, (_, i) => ({ _id: start + i }));
        // The writer itself retries through the restart (the stand-in refuses connections meanwhile).
        for (let attempt = 0; ; attempt++) {
          try {
            await events.insertMany(docs, { ordered: false });
            break;
          } catch (error) {
            if ((error as { code?: number }).code === 11000) break;
            if (attempt > 100) throw error;
            await sleep(200);
          }
        }
        if (start === EVENTS / 3)
          copiedBefore = await restartWhen(() => supervisor.stats().outputMessageCount);
        await sleep(20);
      }
      const copied = target.db(targetDb).collection("copied");
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline && (await copied.countDocuments()) < EVENTS) await sleep(250);
      const ids = (await copied.find({}, { projection: { _id: 1 } }).toArray()).map((d) => d._id);
      console.log(
        `mongo restart (change stream): ${copiedBefore} copied before the restart, ${ids.length}/${EVENTS} after, ` +
          `supervisor restarts ${supervisor.status().restarts}`,
      );
      expect(copiedBefore).toBeGreaterThan(0);
      expect(new Set(ids)).toEqual(new Set(Array.from({ length: EVENTS }, (_, i) => i)));
    } finally {
      await supervisor.stop();
      await target
        .db(targetDb)
        .dropDatabase()
        .catch(() => undefined);
      await target.close();
    }
  }, 240_000);
});

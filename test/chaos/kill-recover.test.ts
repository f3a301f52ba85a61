// Chaos: `sp process … --checkpoint-dir` as a child process, killed with SIGKILL at seeded random points of
// its progress and restarted each time; at the end the MongoDB contents must equal an uninterrupted
// computation (computed here independently): nothing missing, nothing twice, identical aggregates.
// Prints the number of kills, each recovery time (kill → first new output) and the checkpoint durations.
// MongoDB is a private in-memory stand-in: its oplog keeps every one of the ~300,000 writes per test for
// as long as the server lives, which the shared stand-in (1 GB heap, used by every test file) cannot spare.
import { Admin, Producer } from "@platformatic/kafka";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient, type Collection, type Document } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPrivateMongo, type PrivateMongo } from "../../scripts/services/private.ts";
import { testServices, uniqueName } from "../support/services.ts";
import { killAll, killPoints, processArgs, report, runWithKills, sleep, SpChild } from "./support.ts";

const EVENTS = 100_000;
const KILLS = 4;
const CHECKPOINT_INTERVAL_MS = 500;

describe("chaos: SIGKILL and recover from checkpoints", () => {
  const { kafkaBrokers } = testServices();
  const dir = mkdtempSync(join(tmpdir(), "eddy-chaos-"));
  let server: PrivateMongo;
  let mongo: MongoClient;
  const connections = join(dir, "connections.json");

  beforeAll(async () => {
    server = await startPrivateMongo({ persistent: false });
    const mongodbUri = server.uri;
    mongo = new MongoClient(mongodbUri);
    await mongo.connect();
    writeFileSync(
      connections,
      JSON.stringify({
        connections: [
          { name: "atlas", type: "Cluster", config: { uri: mongodbUri } },
          { name: "kafka", type: "Kafka", bootstrapServers: kafkaBrokers.join(",") },
        ],
      }),
    );
  });

  afterAll(async () => {
    killAll();
    await mongo?.close();
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("change stream → $addFields → $merge (ids derived by Eddy): every event written exactly once", async () => {
    const db = uniqueName("chaos_cs");
    const source = mongo.db(db).collection("events");
    const target = mongo.db(db).collection("out");
    const checkpointDir = join(dir, db);
    const definition = join(dir, `${db}.json`);
    writeFileSync(
      definition,
      JSON.stringify({
        name: "cs_chaos",
        pipeline: [
          { $source: { connectionName: "atlas", db, coll: "events" } },
          {
            $addFields: {
              i: "$fullDocument.i",
              doubled: { $multiply: ["$fullDocument.v", 2] },
              processedAt: "$$NOW",
            },
          },
          // Without the change event's own _id (its resume token), $merge needs ids Eddy derives.
          { $project: { _id: 0, i: 1, doubled: 1, processedAt: 1 } },
          { $merge: { into: { connectionName: "atlas", db, coll: "out" } } },
        ],
      }),
    );
    const args = processArgs(definition, connections, checkpointDir, CHECKPOINT_INTERVAL_MS);
    try {
      await source.insertOne({ i: -1, v: 0 }); // creates the collection before the stream opens
      const checkpointFile = join(checkpointDir, "checkpoints", "cs_chaos.json");
      const first = new SpChild(args);
      // The first checkpoint is taken at the first batch boundary: the change stream is open by then.
      await waitFor(() => readCheckpoint(checkpointFile) !== undefined, first);
      // Inserting runs alongside the kills: the source is infinite, the processor restarts while it grows.
      const inserting = insertEvents(source);
      const run = await runWithKills({
        child: first,
        args,
        points: killPoints(7, KILLS),
        expected: EVENTS,
        progress: () => target.estimatedDocumentCount(),
        writtenSince: async (at) => (await target.findOne({ processedAt: { $gt: at } })) !== null,
      });
      await inserting;
      await settle(target, EVENTS, run.child);
      await sleep(CHECKPOINT_INTERVAL_MS * 2); // anything extra (a duplicate) would land by now
      expect(await run.child.stop()).toBe(0);
      const written = await target.find({}, { projection: { _id: 0, i: 1, doubled: 1 } }).toArray();
      expect(written).toHaveLength(EVENTS);
      const byI = new Map(written.map((d) => [d.i as number, d.doubled as number]));
      expect(byI.size).toBe(EVENTS);
      for (let i = 0; i < EVENTS; i++)
        if (byI.get(i) !== valueOf(i) * 2) expect(byI.get(i)).toBe(valueOf(i) * 2);
      report("change stream → $addFields → $merge", run, run.child.stderr);
    } finally {
      await mongo.db(db).dropDatabase();
    }
  }, 180_000);

  it("Kafka (4 partitions) → $hoppingWindow with $group → $merge: window results equal an uninterrupted run", async () => {
    const db = uniqueName("chaos_kw");
    const topic = uniqueName("chaos_kw");
    const target = mongo.db(db).collection("windows");
    const checkpointDir = join(dir, db);
    const definition = join(dir, `${db}.json`);
    writeFileSync(
      definition,
      JSON.stringify({
        name: "kafka_chaos",
        pipeline: [
          {
            $source: {
              connectionName: "kafka",
              topic,
              timeField: { $dateFromString: { dateString: "$t" } },
              config: { auto_offset_reset: "earliest" },
            },
          },
          {
            $hoppingWindow: {
              interval: { size: WINDOW_MS / 1000, unit: "second" },
              hopSize: { size: HOP_MS / 1000, unit: "second" },
              pipeline: [
                {
                  $group: {
                    _id: "$k",
                    sum: { $sum: "$v" },
                    count: { $sum: 1 },
                    max: { $max: "$v" },
                  },
                },
              ],
            },
          },
          { $addFields: { _id: { k: "$_id", start: "$_stream_meta.window.start" }, processedAt: "$$NOW" } },
          { $merge: { into: { connectionName: "atlas", db, coll: "windows" } } },
        ],
      }),
    );
    const args = processArgs(definition, connections, checkpointDir, CHECKPOINT_INTERVAL_MS);
    const expected = expectedWindows();
    const admin = new Admin({ clientId: "eddy-chaos-admin", bootstrapBrokers: kafkaBrokers });
    const producer = new Producer({ clientId: "eddy-chaos-producer", bootstrapBrokers: kafkaBrokers });
    try {
      await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
      // No warm-up records: the watermark waits for every assigned partition, so a partition read first
      // cannot run ahead and make the others' records late.
      const first = new SpChild(args);
      await waitFor(
        () => checkpointedPartitions(join(checkpointDir, "checkpoints", "kafka_chaos.json")) === PARTITIONS,
        first,
      );
      const producing = produceEvents(producer, topic);
      const run = await runWithKills({
        child: first,
        args,
        points: killPoints(11, KILLS),
        expected: expected.size,
        progress: () => target.estimatedDocumentCount(),
        writtenSince: async (at) => (await target.findOne({ processedAt: { $gt: at } })) !== null,
      });
      await producing;
      await settle(target, expected.size, run.child);
      await sleep(CHECKPOINT_INTERVAL_MS * 2);
      expect(await run.child.stop()).toBe(0);
      const written = await target.find({}).toArray();
      const actual = new Map(
        written.map((d) => {
          const id = d._id as unknown as { k: string; start: Date };
          return [`${id.k}|${id.start.getTime()}`, { sum: d.sum, count: d.count, max: d.max }];
        }),
      );
      expect(written).toHaveLength(expected.size);
      expect(actual).toEqual(expected);
      report("Kafka → $hoppingWindow/$group → $merge", run, run.child.stderr);
    } finally {
      await producer.close();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.close();
      await mongo.db(db).dropDatabase();
    }
  }, 180_000);
});

const PARTITIONS = 4;
const KEYS = 10;
const WINDOW_MS = 10_000;
const HOP_MS = 5_000;
const EVENT_SPACING_MS = 10;
const BASE = Date.UTC(2024, 0, 1);

/** Event `i`: key `k<i mod 10>`, partition `i mod 4`, event time BASE + 10 ms·i (in order per partition). */
function kafkaEvent(i: number) {
  return { k: `k${i % KEYS}`, v: valueOf(i), t: new Date(BASE + i * EVENT_SPACING_MS).toISOString() };
}

/** The window results an uninterrupted run must produce, computed from the events directly. */
function expectedWindows(): Map<string, { sum: number; count: number; max: number }> {
  const out = new Map<string, { sum: number; count: number; max: number }>();
  for (let i = 0; i < EVENTS; i++) {
    const { k, v } = kafkaEvent(i);
    const t = BASE + i * EVENT_SPACING_MS;
    // Hopping windows [start, start + 10 s) on the 5 s grid from the epoch that contain t.
    for (let start = Math.floor(t / HOP_MS) * HOP_MS; start > t - WINDOW_MS; start -= HOP_MS) {
      const key = `${k}|${start}`;
      const acc = out.get(key) ?? { sum: 0, count: 0, max: -Infinity };
      acc.sum += v;
      acc.count++;
      acc.max = Math.max(acc.max, v);
      out.set(key, acc);
    }
  }
  return out;
}

/**
 * Produces the events in chunks while the processor runs (an infinite source), then one far-future event
 * per partition, which moves every partition's watermark past the last real window so all of them close.
 */
async function produceEvents(
  producer: Producer<Buffer, Buffer, Buffer, Buffer>,
  topic: string,
): Promise<void> {
  const chunk = 5_000;
  const message = (partition: number, event: object) => ({
    topic,
    partition,
    value: Buffer.from(JSON.stringify(event)),
  });
  for (let start = 0; start < EVENTS; start += chunk) {
    const messages = [];
    for (let i = start; i < Math.min(EVENTS, start + chunk); i++)
      messages.push(message(i % PARTITIONS, kafkaEvent(i)));
    await producer.send({ messages, acks: 1 });
    await sleep(100);
  }
  const end = new Date(BASE + EVENTS * EVENT_SPACING_MS + 10 * WINDOW_MS).toISOString();
  await producer.send({
    messages: Array.from({ length: PARTITIONS }, (_, p) => message(p, { k: "flush", v: 0, t: end })),
    acks: 1,
  });
}

function valueOf(i: number): number {
  return (i * 7919) % 1000;
}

async function insertEvents(source: Collection<Document>): Promise<void> {
  const chunk = 2_000;
  for (let start = 0; start < EVENTS; start += chunk) {
    const docs = [];
    for (let i = start; i < Math.min(EVENTS, start + chunk); i++) docs.push({ i, v: valueOf(i) });
    await source.insertMany(docs, { ordered: true });
    await sleep(20);
  }
}

/**
 * Waits until `collection` holds `expected` documents, or its count has not moved for 20 s (then the
 * assertions that follow show what is missing rather than the test timing out).
 */
async function settle(collection: Collection<Document>, expected: number, child: SpChild): Promise<void> {
  let last = -1;
  let changedAt = Date.now();
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`sp process exited:\n${child.stderr}`);
    const count = await collection.estimatedDocumentCount();
    if (count >= expected) return;
    if (count !== last) [last, changedAt] = [count, Date.now()];
    else if (Date.now() - changedAt > 20_000) return;
    await sleep(50);
  }
}

async function waitFor(condition: () => boolean, child: SpChild): Promise<void> {
  while (!condition()) {
    if (child.process.exitCode !== null) throw new Error(`sp process exited:\n${child.stderr}`);
    await sleep(50);
  }
}

function readCheckpoint(path: string): Document | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Document;
  } catch {
    return undefined; // not written yet
  }
}

/** Partitions a checkpoint file names (every assigned one, read from or not). */
function checkpointedPartitions(path: string): number {
  return Object.keys((readCheckpoint(path)?.sourcePositions?.offsets ?? {}) as Record<string, string>).length;
}

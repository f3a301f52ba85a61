// A scaled-out processor's top-level stats are the processor's own (docs/scale-out.md, "Stats"): every record
// counted once, whichever instance answers, across partition moves. Unit tests of the aggregation and of the
// kept counts on the real stores, then two `sp serve` processes on one MongoDB state store (one killed with
// SIGKILL mid-stream, a third joining late) over a real 6-partition topic, running a window grouped by a field
// that is not the message key (repartitioned) and a pipeline without a window (not repartitioned).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Producer } from "@platformatic/kafka";
import { createClient, type RedisClientType } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repartitionTopic } from "../../src/connectors/kafka/repartition.ts";
import { FileStateStore } from "../../src/control/file-state-store.ts";
import { MongoStateStore } from "../../src/control/mongo-state-store.ts";
import { RedisStateStore } from "../../src/control/redis-state-store.ts";
import {
  type CounterField,
  ProcessorCountsStore,
  type PartitionCounts,
  type ProcessorCounts,
  type SourceCounts,
} from "../../src/control/scale/processor-counts.ts";
import type { StateStore } from "../../src/control/state-store.ts";
import { processorTotals } from "../../src/control/scale/processor-totals.ts";
import { highestCounts } from "../../src/control/scale/task-stats.ts";
import { SourceCounter } from "../../src/control/scale/source-counts.ts";
import { taskRow, type TaskReport } from "../../src/control/scale/task-board.ts";
import { safeSize } from "../../src/runtime/dlq.ts";
import type { SourceRecord } from "../../src/runtime/source.ts";
import {
  COUNTER_FIELDS,
  LatencyHistogram,
  type LatencyStats,
  type OperatorStatsOutput,
} from "../../src/runtime/stats.ts";
import { MetricsHistory } from "../../src/server/console/metrics-history.ts";
import { eventually } from "../server/helpers.ts";
import { testServices, uniqueName } from "../support/services.ts";
import type { SharedServe } from "../support/sp-serve.ts";
import {
  BASE,
  kafkaClient,
  PARTITIONS,
  scaleConnections,
  sensorEvents,
  type SensorEvent,
  SharedStoreBed,
  windowClosers,
  windowPipeline,
} from "./fixtures.ts";
import { expectedWindows } from "./window-totals.ts";

/** Every message counter at 0. */
const ZERO = Object.fromEntries(COUNTER_FIELDS.map((field) => [field, 0])) as Record<CounterField, number>;

const counts = (over: Partial<PartitionCounts>): PartitionCounts => ({
  ...ZERO,
  repartitioned: true,
  ...over,
});

/** A source partition's figure: `count` records of `size` bytes up to `offset`, and `dlq` dead letters. */
const read = (
  count: number,
  size: number,
  offset: number,
  dlq: Partial<Pick<SourceCounts, "dlqMessageCount" | "dlqMessageSize" | "dlqOffset">> = {},
): SourceCounts => ({
  inputMessageCount: count,
  inputMessageSize: size,
  offset,
  dlqMessageCount: 0,
  dlqMessageSize: 0,
  dlqOffset: -1,
  ...dlq,
});

const report = (task: number, over: Partial<TaskReport>): TaskReport => ({
  task,
  instance: `host:${task}`,
  partitions: [],
  lag: 0,
  refusedCheckpoints: 0,
  sourcePartitions: [],
  inputMessageCount: 0,
  outputMessageCount: 0,
  updatedAt: new Date(),
  ...over,
});

const lag = (partition: number, currentOffset: number, partitionOffsetLag: number) => ({
  topic: "t",
  partition,
  currentOffset,
  checkpointOffset: -1,
  isIdle: partitionOffsetLag === 0,
  partitionOffsetLag,
});

/** Records of partition `t:<partition>` at `offsets`, 10 bytes each. */
const records = (partition: number, offsets: readonly number[]): SourceRecord[] =>
  offsets.map((offset) => ({
    doc: {},
    partition: `t:${partition}`,
    timestamp: 0,
    meta: { topic: "t", partition, offset },
    size: 10,
  }));

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe("a scaled-out processor's totals", () => {
  it("count each partition once, from its kept figures, and each Kafka partition the tasks read once", () => {
    const kept: ProcessorCounts = {
      partitions: new Map([
        [
          0,
          counts({ inputMessageCount: 70, outputMessageCount: 5, outputMessageSize: 50, dlqMessageCount: 1 }),
        ],
        [1, counts({ inputMessageCount: 30, outputMessageCount: 2, outputMessageSize: 20 })],
      ]),
      sources: new Map([
        ["t:0", read(60, 600, 59, { dlqMessageCount: 2, dlqMessageSize: 30, dlqOffset: 50 })],
        ["t:1", read(41, 410, 40)],
      ]),
    };
    // Source partition 1 is moving from task 0 to task 1: both list it; task 1 read further.
    const reports = [
      report(0, {
        stateSize: 100,
        watermark: new Date(2_000),
        kafkaPartitions: [lag(0, 60, 0), lag(1, 35, 6)],
        readerDlqMessageCount: 2,
        readerDlqMessageSize: 40,
      }),
      report(1, { stateSize: 20, watermark: "1970-01-01T00:00:01.500Z", kafkaPartitions: [lag(1, 41, 0)] }),
    ];
    expect(processorTotals(kept, reports)).toEqual({
      // With a repartition the input is what the readers read, not what the repartition partitions took.
      inputMessageCount: 101,
      inputMessageSize: 1010,
      outputMessageCount: 7,
      outputMessageSize: 70,
      dlqMessageCount: 5,
      dlqMessageSize: 70,
      stateSize: 120,
      watermark: new Date(1_500),
      kafkaPartitions: [lag(0, 60, 0), lag(1, 41, 0)],
      kafkaTotalOffsetLag: 0,
    });
    // Without a repartition, the partitions read the source: their input is the processor's.
    const windowless: ProcessorCounts = {
      partitions: new Map([
        [0, counts({ inputMessageCount: 70, repartitioned: false })],
        [1, counts({ inputMessageCount: 30, repartitioned: false })],
      ]),
      sources: new Map(),
    };
    expect(processorTotals(windowless, [])).toMatchObject({ inputMessageCount: 100, stateSize: 0 });
    expect(processorTotals(windowless, [])).not.toHaveProperty("kafkaPartitions");
  });

  it("keep of two figures of one partition the one that counted further", () => {
    // A killed holder counted up to 80 records; its successor restarted from a checkpoint at 50 and is at 60.
    expect(
      highestCounts(
        counts({ inputMessageCount: 60, outputMessageCount: 3 }),
        counts({ inputMessageCount: 80, outputMessageCount: 4 }),
      ),
    ).toMatchObject({ inputMessageCount: 80, outputMessageCount: 4 });
  });

  it("count a source partition's records once when a reader takes it over from earlier offsets", async () => {
    const store = new Map<string, SourceCounts>();
    const keep = (counter: SourceCounter) => {
      for (const [key, figure] of counter.figures()) store.set(key, figure);
    };
    const a = new SourceCounter(async (key) => store.get(key));
    await a.count(records(0, range(0, 8)), ["t:0"]);
    keep(a); // at a checkpoint, before the commit of offset 8
    await a.count(records(0, range(8, 10)), ["t:0"]); // read, counted, never kept: a dies
    // b continues from the committed offset 5 (an earlier commit) and reads 5…12 again.
    const b = new SourceCounter(async (key) => store.get(key));
    await b.count(records(0, range(5, 13)), ["t:0"]);
    expect(Object.fromEntries(b.figures())).toEqual({
      "t:0": read(13, 130, 12),
    });
    // b gives partition 0 up; a record of it fetched before still arrives: it counts on b's own figure.
    await b.count(records(0, [13]), ["t:1"]);
    expect(new Map(b.figures()).get("t:0")).toEqual(read(14, 140, 13));
    // a gives partition 0 up and gets it back later: it continues from what b kept, not its own figure.
    keep(b);
    await a.count(records(1, [0]), ["t:1"]);
    await a.count(records(0, range(10, 15)), ["t:0", "t:1"]);
    expect(new Map(a.figures()).get("t:0")).toEqual(read(15, 150, 14));
  });

  it("continues from what another reader kept when a partition comes back between two batches", async () => {
    const store = new Map<string, SourceCounts>();
    const a = new SourceCounter(async (key) => store.get(key));
    await a.count(records(0, range(0, 4)), ["t:0"]);
    // Given up and taken back before a's next batch (a never saw an assignment without it); b meanwhile
    // read 4…9, kept its figure and committed 10, where a's source now resumes.
    store.set("t:0", read(10, 100, 9));
    await a.count(records(0, range(10, 12)), ["t:0"]);
    expect(new Map(a.figures()).get("t:0")).toEqual(read(12, 120, 11));
    // A gap that is only a transaction marker (the kept figure is a's own, older one) changes nothing.
    store.set("t:0", read(12, 120, 11));
    await a.count(records(0, [13]), ["t:0"]);
    expect(new Map(a.figures()).get("t:0")).toEqual(read(13, 130, 13));
  });
});

/** The latency summary of `samples` (microseconds), as a runtime's verbose stats give it. */
const summary = (samples: readonly number[]): LatencyStats => {
  const histogram = new LatencyHistogram();
  for (const micros of samples) histogram.record(micros);
  return {
    p50: histogram.percentile(50),
    p95: histogram.percentile(95),
    p99: histogram.percentile(99),
    unit: "microseconds",
    count: histogram.count,
    sum: Math.round(histogram.sum),
    buckets: histogram.cumulative(),
  };
};

const operator = (name: string, over: Partial<OperatorStatsOutput> = {}): OperatorStatsOutput => ({
  name,
  ...ZERO,
  stateSize: 0,
  executionTimeMillis: 0,
  ...over,
});

describe("a scaled-out processor's verbose stats", () => {
  it("sum the live tasks' operators by position and name, in pipeline order", () => {
    const reader = (input: number) => [
      operator("KafkaConsumerOperator", { inputMessageCount: input, outputMessageCount: input }),
      operator("RepartitionOperator", { inputMessageCount: input, executionTimeMillis: 2 }),
    ];
    const windows = (input: number, state: number) => [
      operator("KafkaConsumerOperator", { inputMessageCount: input, inputMessageSize: 10 * input }),
      operator("GroupOperator", { inputMessageCount: input, stateSize: state, executionTimeMillis: 5 }),
      operator("MergeOperator", { outputMessageCount: 1, dlqMessageCount: 1 }),
    ];
    const reports = [
      report(0, { operatorStats: [...reader(60), ...windows(50, 300)] }),
      // A task whose partitions all moved away still has its reader.
      report(1, { operatorStats: reader(40) }),
      report(2, { operatorStats: [...reader(0), ...windows(70, 200)] }),
      report(3, {}),
    ];
    const totals = processorTotals({ partitions: new Map(), sources: new Map() }, reports);
    expect(totals.operatorStats).toEqual([
      operator("KafkaConsumerOperator", { inputMessageCount: 100, outputMessageCount: 100 }),
      operator("RepartitionOperator", { inputMessageCount: 100, executionTimeMillis: 6 }),
      operator("KafkaConsumerOperator", { inputMessageCount: 120, inputMessageSize: 1200 }),
      operator("GroupOperator", { inputMessageCount: 120, stateSize: 500, executionTimeMillis: 10 }),
      operator("MergeOperator", { outputMessageCount: 2, dlqMessageCount: 2 }),
    ]);
    // Figures for the top level only, not the tasks' rows.
    expect(taskRow(reports[0])).not.toHaveProperty("operatorStats");
    expect(taskRow(report(0, { latency: summary([1]) }))).not.toHaveProperty("latency");
  });

  it("merge the live tasks' latency: count, sum and buckets exactly, percentiles within what is sure", () => {
    // Task 0 is fast, task 1 slow and busier: neither one's percentiles are the processor's.
    const fast = Array.from({ length: 600 }, (_, i) => 1_000 + ((i * 37) % 2_000));
    const slow = Array.from({ length: 900 }, (_, i) => 4_000 + ((i * 53) % 40_000));
    const all = summary([...fast, ...slow]);
    const reports = [report(0, { latency: summary(fast) }), report(1, { latency: summary(slow) })];
    const latency = processorTotals({ partitions: new Map(), sources: new Map() }, reports).latency;
    expect(latency).toMatchObject({ unit: "microseconds", count: 1_500, sum: all.sum, buckets: all.buckets });
    // Each percentile lies in the same histogram bucket as the exact one over every sample.
    const bounds = (all.buckets ?? []).map((bucket) => bucket.le);
    const bucketOf = (micros: number) => bounds.findIndex((le) => micros <= le);
    for (const field of ["p50", "p95", "p99"] as const) {
      expect(bucketOf(latency?.[field] ?? -1), field).toBe(bucketOf(all[field]));
      expect(latency?.[field], field).toBeGreaterThanOrEqual(
        Math.min(summary(fast)[field], summary(slow)[field]),
      );
    }
    // A count-weighted mean alone would put p50 in a lower bucket than the exact one.
    const weighted = (summary(fast).p50 * 600 + summary(slow).p50 * 900) / 1_500;
    expect(bucketOf(weighted)).not.toBe(bucketOf(all.p50));
    // Tasks alike merge to their own figures; tasks with nothing written yet add nothing.
    const same = summary(slow);
    expect(
      processorTotals({ partitions: new Map(), sources: new Map() }, [
        report(0, { latency: same }),
        report(1, { latency: same }),
        report(2, { latency: summary([]) }),
      ]).latency,
    ).toMatchObject({ p50: same.p50, p99: same.p99, count: 1_800, sum: 2 * same.sum });
  });
});

/** A reader's dead letter of the record at `offset` of partition `t:<partition>`. */
const deadLetter = (partition: number, offset: number) => ({
  _stream_meta: { source: { type: "kafka", topic: "t", partition, offset } },
  errInfo: { reason: "bad input" },
});

describe("a reader's dead letters", () => {
  it("count once per source partition when a reader takes it over and dead-letters records again", async () => {
    const store = new Map<string, SourceCounts>();
    const a = new SourceCounter(async (key) => store.get(key));
    await a.count(records(0, range(0, 6)), ["t:0"]);
    // Two dead letters of one record, one of another; one that names no source partition.
    const stray = { errInfo: { reason: "no source" } };
    expect(a.countDeadLetters([deadLetter(0, 2), deadLetter(0, 2), deadLetter(0, 5), stray])).toEqual({
      count: 1,
      size: safeSize(stray),
    });
    for (const [key, figure] of a.figures()) store.set(key, figure);
    // b reads 3…7 again and dead-letters 5 again, then 7.
    const b = new SourceCounter(async (key) => store.get(key));
    await b.count(records(0, range(3, 8)), ["t:0"]);
    b.countDeadLetters([deadLetter(0, 5), deadLetter(0, 7)]);
    expect(new Map(b.figures()).get("t:0")).toEqual(
      read(8, 80, 7, {
        dlqMessageCount: 4,
        dlqMessageSize: 3 * safeSize(deadLetter(0, 2)) + safeSize(deadLetter(0, 7)),
        dlqOffset: 7,
      }),
    );
  });
});

describe("the console's row of a scaled-out processor", () => {
  it("shows the processor's totals and lag, not the task running on the answering instance", async () => {
    const local = {
      inputMessageCount: 40,
      outputMessageCount: 2,
      dlqMessageCount: 0,
      kafkaTotalOffsetLag: 3,
    };
    const history = new MetricsHistory(async () => ({
      processors: [
        {
          workspace: "default",
          name: "orders",
          state: "STARTED",
          stats: { ...local, status: "running" },
          totals: processorTotals(
            {
              partitions: new Map([[0, counts({ outputMessageCount: 7, dlqMessageCount: 1 })]]),
              sources: new Map([["t:0", read(100, 1000, 99)]]),
            },
            [report(0, { kafkaPartitions: [lag(0, 100, 5)] })],
          ),
          restarts: 0,
          pipeline: [],
          connections: [],
        },
      ],
      process: { cpuSeconds: 0, rssBytes: 0, heapUsedBytes: 0, eventLoopDelayP99Seconds: 0 },
    }));
    const { processors } = await history.sample();
    expect(processors[0]).toMatchObject({
      inputMessageCount: 100,
      outputMessageCount: 7,
      dlqMessageCount: 1,
      lagRecords: 5,
    });
  });
});

describe.each<[string, () => StateStore]>([
  ["MongoDB", () => new MongoStateStore(mongo, { db: stateDb })],
  ["Redis", () => new RedisStateStore(redis, { prefix: `${uniqueName("eddy")}:` })],
  // No fenced writes: a source figure is compared and written in two steps (one server only).
  ["the file store", () => new FileStateStore(mkdtempSync(join(tmpdir(), "eddy-counts-")))],
])("the kept counts on %s", (_name, open) => {
  it("are raised, never lowered, and forgotten per processor", async () => {
    const store = new ProcessorCountsStore(open());
    const id = uniqueName("proc");
    await store.raisePartition(id, 0, counts({ inputMessageCount: 80, outputMessageCount: 4 }));
    // A successor that restarted from an older checkpoint: its lower figures do not replace the kept ones.
    await store.raisePartition(id, 0, counts({ inputMessageCount: 60, outputMessageCount: 5 }));
    await store.raiseSource(id, "t:0", read(10, 100, 9));
    await store.raiseSource(id, "t:0", read(6, 60, 5));
    await store.raiseSource(id, "t:1", read(3, 30, 2));
    await store.raisePartition(uniqueName("other"), 0, counts({ inputMessageCount: 1 }));
    const kept = await store.all(id);
    expect(kept.partitions).toEqual(new Map([[0, counts({ inputMessageCount: 80, outputMessageCount: 5 })]]));
    expect(kept.sources).toEqual(
      new Map([
        ["t:0", read(10, 100, 9)],
        ["t:1", read(3, 30, 2)],
      ]),
    );
    await store.forget(id);
    expect(await store.all(id)).toEqual({ partitions: new Map(), sources: new Map() });
  });

  it("keep each counter at the highest of many figures raised at the same moment", async () => {
    const store = new ProcessorCountsStore(open());
    const id = uniqueName("proc");
    // Each figure is highest in one counter or another: no write may drop another's raise.
    const figures = Array.from({ length: 24 }, (_, i) =>
      counts({
        inputMessageCount: (i * 7) % 24,
        outputMessageCount: 100 + ((i * 5) % 24),
        dlqMessageCount: 23 - i,
      }),
    );
    await Promise.all(figures.map((figure) => store.raisePartition(id, 0, figure)));
    expect((await store.all(id)).partitions.get(0)).toEqual(
      counts({ inputMessageCount: 23, outputMessageCount: 123, dlqMessageCount: 23 }),
    );
    await store.forget(id);
  });

  it("are never lowered by a stale holder's figure written at the same moment as its successor's", async () => {
    const store = new ProcessorCountsStore(open());
    const id = uniqueName("proc");
    let kept = 100;
    await store.raisePartition(id, 0, counts({ inputMessageCount: kept }));
    for (let round = 0; round < 10; round++) {
      // The stale holder's figure is above the stored one but below its successor's.
      await Promise.all([
        store.raisePartition(id, 0, counts({ inputMessageCount: kept + 10 })),
        store.raisePartition(id, 0, counts({ inputMessageCount: kept + 5 })),
      ]);
      kept += 10;
      expect((await store.all(id)).partitions.get(0)?.inputMessageCount).toBe(kept);
    }
    await store.forget(id);
  });

  it("are raised from the figures an earlier version put, and written by a task only when they changed", async () => {
    const raw = open();
    const store = new ProcessorCountsStore(raw);
    const id = uniqueName("proc");
    const key = `${id}/partition/0`;
    // A whole record, as the read-then-write of earlier versions left it.
    await raw.put("processorCounts", key, counts({ inputMessageCount: 80, outputMessageCount: 4 }));
    const figure = (input: number) =>
      counts({ inputMessageCount: input, outputMessageCount: 5, repartitioned: false });
    const task = store.forTask(id);
    await task.raisePartition(0, figure(60));
    expect((await store.all(id)).partitions.get(0)).toEqual(figure(80));
    // The same figure again costs the store nothing: the raw put below is not undone by it.
    await raw.put("processorCounts", key, counts({ inputMessageCount: 1 }));
    await task.raisePartition(0, figure(60));
    expect((await store.all(id)).partitions.get(0)?.inputMessageCount).toBe(1);
    await task.raisePartition(0, figure(61));
    expect((await store.all(id)).partitions.get(0)?.inputMessageCount).toBe(61);
    await store.forget(id);
  });
});

const SENSORS = 8;
const events = (from: number, to: number) => sensorEvents(SENSORS, from, to);
const closers = () => windowClosers(SENSORS);
const topic = uniqueName("eddy_totals");
const bed = new SharedStoreBed(testServices(), {
  topic,
  stateDb: uniqueName("eddy_totals_state"),
  outDb: uniqueName("eddy_totals_out"),
  leaseTtlMs: 3_000,
  checkpointIntervalMs: 500,
});
const { stateDb, outDb } = bed.options;
const { mongo } = bed;
const processor = uniqueName("totals").replace(/_/g, "-");
/** The same input without a window: no repartition, the partitions read the source. */
const plain = uniqueName("plain").replace(/_/g, "-");
let redis: RedisClientType;
const kafka = () => kafkaClient(testServices(), "eddy-totals-test");

/** `docs`, and after them one message per partition that is not JSON (a dead letter of the reader). */
async function produce(docs: readonly SensorEvent[]): Promise<void> {
  const producer = new Producer({ ...kafka(), autocreateTopics: false });
  const message = (partition: number, value: string) => ({
    topic,
    partition,
    key: Buffer.from(`device-${partition}`),
    value: Buffer.from(value),
  });
  await producer.send({
    messages: [
      ...docs.map(({ partition, ...doc }) => message(partition, JSON.stringify(doc))),
      ...range(0, PARTITIONS).map((partition) => message(partition, "not json")),
    ],
  });
  await producer.close();
}

const serve = bed.serve;

const tookPartitions = (instance: SharedServe, name = processor) =>
  instance.logs.some((line) => line.includes('"scaled task took partitions"') && line.includes(name));

interface TopStats {
  dlqMessageCount: number;
  inputMessageCount: number;
  outputMessageCount: number;
  tasks?: Array<{ instance: string; partitions: number[]; inputMessageCount: number }>;
}

interface VerboseStats extends TopStats {
  operatorStats?: Array<{ name: string; outputMessageCount: number }>;
  latency?: { p50: number; p99: number; count: number };
}

beforeAll(async () => {
  await bed.setUp();
  redis = createClient({ url: testServices().redisUrl });
  await redis.connect();
});

afterAll(async () => {
  await bed.tearDown([repartitionTopic(processor)]);
  redis.destroy();
});

describe("a scaled-out processor's top-level stats over several instances", () => {
  it(
    "count every record once and are the same on every instance, through a SIGKILL and a late joiner",
    { timeout: 240_000 },
    async () => {
      const [a, b] = await Promise.all([serve("a"), serve("b")]);
      const top = async (instance: SharedServe, name = processor) =>
        (await instance.call("GET", `/processors/${name}/stats`)).body.stats as TopStats;
      for (const connection of scaleConnections(testServices()))
        await a.call("POST", "/connections", connection);
      const created = await a.call("POST", "/processors", {
        name: processor,
        pipeline: windowPipeline({ topic, groupBy: "$sensor", keyField: "sensor", outDb, coll: "windows" }),
        options: { parallelism: 2 },
      });
      expect(created.status).toBe(201);
      const createdPlain = await a.call("POST", "/processors", {
        name: plain,
        pipeline: [
          {
            $source: {
              connectionName: "kafka",
              topic,
              config: { auto_offset_reset: "earliest", group_id: uniqueName("g_plain") },
            },
          },
          { $merge: { into: { connectionName: "atlas", db: outDb, coll: "plain" } } },
        ],
        options: { parallelism: 2 },
      });
      expect(createdPlain.status).toBe(201);
      const first = events(0, 10);
      await produce(first);
      for (const name of [processor, plain])
        expect((await a.call("POST", `/processors/${name}:start`)).status).toBe(200);
      await eventually(
        async () => ([a, b].every((i) => tookPartitions(i) && tookPartitions(i, plain)) ? true : undefined),
        60_000,
        "two tasks of each processor on two instances",
      );
      const windows = mongo.db(outDb).collection("windows");
      await eventually(
        async () => ((await windows.countDocuments()) >= SENSORS * 3 ? true : undefined),
        60_000,
        "the first windows written",
      );
      // b dies with records in flight, once its reader has read some of them (so another reader takes its
      // source partitions over from its committed offsets); c joins and takes its task, so partitions move.
      const second = events(10, 30);
      const feeding = (async () => {
        for (let s = 10; s < 30; s++) {
          await produce(events(s, s + 1));
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      })();
      const ofB = (task: { instance: string }) => task.instance.split(":")[1] === String(b.child.pid);
      await eventually(
        async () => ((await top(a)).tasks ?? []).find((t) => ofB(t) && t.inputMessageCount > 0),
        30_000,
        "b's reader to read",
      );
      b.child.kill("SIGKILL");
      const c = await serve("c");
      await eventually(
        async () => (tookPartitions(c) && tookPartitions(c, plain) ? true : undefined),
        // b's leases and its group members expire first; on a loaded machine that took over 60 s.
        120_000,
        "c to take a task of each",
      );
      await feeding;
      const closing = closers();
      await produce(closing);

      // The windows closed by the closers; theirs stay open.
      const expected = expectedWindows([...first, ...second], (e) => String(e.sensor), BASE);
      // Each produce() added a bad message per partition: the first, 20 steps and the closers.
      const bad = 22 * PARTITIONS;
      const input = first.length + second.length + closing.length + bad;
      const [fromA, fromC, plainA, plainC] = await eventually(
        async () => {
          const all = [await top(a), await top(c), await top(a, plain), await top(c, plain)];
          const settled =
            all.every((s) => s.inputMessageCount === input && s.dlqMessageCount === bad) &&
            all[0].outputMessageCount === expected.size &&
            all[1].outputMessageCount === expected.size &&
            all[2].outputMessageCount === input - bad &&
            all[3].outputMessageCount === input - bad;
          return settled ? all : undefined;
        },
        90_000,
        `input ${input}, output ${expected.size} and ${bad} dead letters on a and c`,
      ).catch(async (error: unknown) => {
        console.log(JSON.stringify([await top(a), await top(c), await top(a, plain), await top(c, plain)]));
        throw error;
      });
      expect(await windows.countDocuments()).toBe(expected.size);
      expect(await mongo.db(outDb).collection("plain").countDocuments()).toBe(input - bad);
      expect(plainA).toMatchObject({ inputMessageCount: plainC.inputMessageCount });
      // Verbose, the operators and latency are the processor's too: its sink's written documents (each
      // partition's counters continue from its checkpoint wherever it runs) on either instance.
      expect(plainA).not.toHaveProperty("operatorStats");
      const verbose = async (instance: SharedServe) =>
        (await instance.call("GET", `/processors/${plain}/stats?verbose=true`)).body.stats as VerboseStats;
      await eventually(
        async () => {
          const both = [await verbose(a), await verbose(c)];
          return both.every(
            (s) =>
              s.operatorStats?.at(-1)?.outputMessageCount === input - bad &&
              s.latency !== undefined &&
              s.latency.count > 0 &&
              s.latency.p50 <= s.latency.p99,
          )
            ? true
            : undefined;
        },
        30_000,
        `the sink operator's ${input - bad} documents on a and c`,
      ).catch(async (error: unknown) => {
        console.log(JSON.stringify([await verbose(a), await verbose(c)]));
        throw error;
      });
      expect(fromA.inputMessageCount).toBe(fromC.inputMessageCount);
      expect(fromA.outputMessageCount).toBe(fromC.outputMessageCount);
      // The tasks' own rows overlap once partitions moved: their sum is no total.
      const instances = new Set((fromA.tasks ?? []).map((t) => t.instance));
      expect(instances.size).toBe(2);
      console.log(
        `totals: input ${fromA.inputMessageCount}, output ${fromA.outputMessageCount} on a and c ` +
          `(without a window: ${plainA.inputMessageCount} in, ${plainA.outputMessageCount} out); ` +
          `tasks ${JSON.stringify(fromA.tasks)}`,
      );
      for (const instance of [a, c]) instance.child.kill("SIGTERM");
    },
  );
});

// Scale-out without servers: `options.parallelism` validation, `sp lint` (its --atlas report and its
// repartition explanation), how a plan splits around its window, the repartition key hash, task stats.
import { Decimal128, Double, Long } from "bson";
import { describe, expect, it } from "vitest";
import { planProcessor, PlanError } from "../../src/pipeline/index.ts";
import { CONNECTORS } from "../../src/connectors/registry.ts";
import { partitionOfKey } from "../../src/connectors/kafka/repartition.ts";
import { checkpointTopicMismatch } from "../../src/connectors/kafka/partition-feed.ts";
import { atlasFindings, scaleOutNotes } from "../../src/cli/commands/lint.ts";
import { renderTaskTables } from "../../src/cli/commands/processor-stats.ts";
import { explainScaleOut, splitForRepartition } from "../../src/control/scale/split-plan.ts";
import { combineTaskStats } from "../../src/control/scale/task-stats.ts";
import { planModification } from "../../src/control/processor-modification.ts";
import { ControlError } from "../../src/control/errors.ts";
import type { ProcessorRecord } from "../../src/control/processor-registry.ts";
import { EMPTY_STATS } from "../../src/control/stats-view.ts";
import type { ProcessorStats } from "../../src/runtime/index.ts";
import type { LatencyStats, OperatorStatsOutput } from "../../src/runtime/stats.ts";
import { CONNECTIONS, MERGE } from "../pipeline/helpers.ts";

const KAFKA = { $source: { connectionName: "kafka", topic: "orders" } };
const CHANGE_STREAM = { $source: { connectionName: "atlas", db: "d", coll: "c" } };
const WINDOW = {
  $tumblingWindow: {
    interval: { size: 1, unit: "second" },
    pipeline: [{ $group: { _id: "$customer", total: { $sum: "$amount" } } }],
  },
};

function definition(pipeline: unknown[], parallelism: unknown) {
  return { name: "orders", pipeline, options: { parallelism } };
}

function planOf(pipeline: unknown[], parallelism: unknown) {
  return planProcessor(definition(pipeline, parallelism), {
    connections: CONNECTIONS,
    connectors: CONNECTORS,
  });
}

function problems(pipeline: unknown[], parallelism: unknown): string[] {
  try {
    planOf(pipeline, parallelism);
    return [];
  } catch (error) {
    if (error instanceof PlanError) return error.errors.map((e) => `${e.path}: ${e.message}`);
    throw error;
  }
}

describe("options.parallelism", () => {
  it("is kept on the plan for a Kafka source", () => {
    expect(planOf([KAFKA, WINDOW, MERGE], 4).parallelism).toBe(4);
    expect(planOf([KAFKA, WINDOW, MERGE], 1).parallelism).toBeUndefined();
  });

  it("refuses what is not a whole number from 1 to 256, with its path", () => {
    for (const bad of [0, -1, 1.5, "4", 257]) {
      expect(problems([KAFKA, MERGE], bad)).toEqual([
        "options.parallelism: parallelism must be an integer from 1 to 256",
      ]);
    }
  });

  it("refuses a change stream (one reader, one resume token) but accepts 1 there", () => {
    expect(problems([CHANGE_STREAM, MERGE], 2)).toEqual([
      expect.stringMatching(/^options\.parallelism: parallelism above 1 needs a Kafka \$source/),
    ]);
    expect(problems([CHANGE_STREAM, MERGE], 1)).toEqual([]);
  });

  it("is reported by sp lint --atlas as an Eddy extension", () => {
    const findings = atlasFindings(definition([KAFKA, WINDOW, MERGE], 3), CONNECTIONS);
    expect(findings).toEqual([
      { path: "options.parallelism", message: expect.stringContaining("is an Eddy extension") },
    ]);
  });
});

describe("sp lint's scale-out explanation", () => {
  it("says a window is repartitioned by its $group _id, through which topic, at what cost", () => {
    const notes = scaleOutNotes(definition([KAFKA, WINDOW, MERGE], 3), CONNECTIONS);
    expect(notes[0]).toBe("runs as up to 3 tasks over the sp serve instances sharing a state store");
    expect(notes[1]).toContain(`repartitioned by the window's $group _id (_id "$customer")`);
    expect(notes[1]).toContain("'eddy-orders-repartition'");
    expect(notes[2]).toMatch(/^cost: one extra produce and fetch per record/);
  });

  it("says nothing is repartitioned without a window, and nothing at all without parallelism", () => {
    const notes = scaleOutNotes(definition([KAFKA, MERGE], 2), CONNECTIONS);
    expect(notes[1]).toMatch(/^no window \(no keyed state\): .*nothing is repartitioned/);
    expect(explainScaleOut(planOf([KAFKA, WINDOW, MERGE], 1))).toEqual([]);
  });
});

describe("a window keyed by the Kafka message key", () => {
  const windowBy = (id: unknown) => ({
    $tumblingWindow: {
      interval: { size: 1, unit: "second" },
      pipeline: [{ $group: { _id: id, total: { $sum: "$amount" } } }],
    },
  });

  it("is not repartitioned: the key's records already share a source partition", () => {
    for (const id of [
      "$_stream_meta.source.key",
      { $meta: "stream.source.key" },
      { key: "$_stream_meta.source.key", region: "$region" },
      ["$region", { $meta: "stream.source.key" }],
    ]) {
      const split = splitForRepartition(
        planOf([KAFKA, { $match: { amount: { $gt: 0 } } }, windowBy(id), MERGE], 2),
      );
      expect(split.case, JSON.stringify(id)).toBe("message-key");
      expect(split.windows).toBeUndefined();
      expect(split.reader.stages.map((s) => s.kind)).toEqual(["match", "window"]);
    }
    const notes = scaleOutNotes(
      definition([KAFKA, windowBy("$_stream_meta.source.key"), MERGE], 3),
      CONNECTIONS,
    );
    expect(notes[1]).toMatch(/includes the Kafka message key.*nothing is repartitioned/);
    expect(notes[2]).toMatch(/producers partitioning by message key.*without a key/);
    expect(notes.join("\n")).not.toContain("eddy-orders-repartition");
  });

  it("is a session window's partitionBy too", () => {
    const session = {
      $sessionWindow: {
        gap: { size: 1, unit: "second" },
        partitionBy: "$_stream_meta.source.key",
        pipeline: [{ $group: { _id: "$customer", n: { $sum: 1 } } }],
      },
    };
    expect(splitForRepartition(planOf([KAFKA, session, MERGE], 2)).case).toBe("message-key");
  });

  it("is repartitioned when the key is only computed from it, several topics are read, or a stage may rewrite _stream_meta", () => {
    const computed = splitForRepartition(
      planOf([KAFKA, windowBy({ $toLower: "$_stream_meta.source.key" }), MERGE], 2),
    );
    expect(computed.case).toBe("group-key");
    const topics = { $source: { connectionName: "kafka", topic: ["a", "b"] } };
    const several = splitForRepartition(planOf([topics, windowBy("$_stream_meta.source.key"), MERGE], 2));
    expect(several.case).toBe("group-key");
    expect(several.messageKeyBlocked).toMatch(/reads 2 topics/);
    const notes = scaleOutNotes(
      definition([topics, windowBy("$_stream_meta.source.key"), MERGE], 2),
      CONNECTIONS,
    );
    expect(notes.at(-1)).toMatch(
      /includes the message key, but the source reads 2 topics .*: repartitioned all the same$/,
    );
    expect(notes.join("\n")).not.toContain("would need no repartition");
    for (const stage of [
      { $project: { amount: 1 } },
      { $set: { "_stream_meta.source.key": "$customer" } },
      { $unset: "_stream_meta" },
    ]) {
      const split = splitForRepartition(
        planOf([KAFKA, stage, windowBy("$_stream_meta.source.key"), MERGE], 2),
      );
      expect(split.case, JSON.stringify(stage)).toBe("group-key");
      expect(split.messageKeyBlocked).toMatch(/may change _stream_meta/);
    }
    // A field of its own next to _stream_meta is fine.
    const harmless = { $set: { "_stream_meta.note": 1, total: { $add: ["$amount", 1] } } };
    expect(
      splitForRepartition(planOf([KAFKA, harmless, windowBy("$_stream_meta.source.key"), MERGE], 2)).case,
    ).toBe("message-key");
  });
});

describe("a partition checkpoint of another layout", () => {
  it("is refused: its offsets are another topic's", () => {
    expect(checkpointTopicMismatch(undefined, "orders", false)).toBeUndefined();
    expect(checkpointTopicMismatch({ topic: "orders", offset: "5" }, "orders", false)).toBeUndefined();
    expect(checkpointTopicMismatch({ topic: "eddy-o-repartition", offset: "5" }, "orders", false)).toMatch(
      /topic 'eddy-o-repartition', but it now reads 'orders': whether the processor repartitions changed/,
    );
    // Saved before the topic was: a repartition partition's have `taken`, a source partition's do not.
    expect(checkpointTopicMismatch({ offset: "5" }, "orders", false)).toBeUndefined();
    expect(checkpointTopicMismatch({ offset: "5", taken: {} }, "eddy-o-repartition", true)).toBeUndefined();
    expect(checkpointTopicMismatch({ offset: "5", taken: {} }, "orders", false)).toMatch(/another topic/);
    expect(checkpointTopicMismatch({ offset: "5" }, "eddy-o-repartition", true)).toMatch(/another topic/);
  });
});

describe("splitting a plan around its window", () => {
  it("gives the reader the stages before the window and the partitions the rest", () => {
    const match = { $match: { amount: { $gt: 0 } } };
    const split = splitForRepartition(planOf([KAFKA, match, WINDOW, MERGE], 2));
    expect(split.reader.stages.map((s) => s.kind)).toEqual(["match"]);
    expect(split.reader.sink).toBeUndefined();
    expect(split.windows?.stages.map((s) => s.kind)).toEqual(["window"]);
    expect(split.windows?.sink?.kind).toBe("merge");
    expect(split.key?.({ customer: "ann" }, {})).toBe("ann");
  });

  it("sends every record to one partition when the window does not start with $group", () => {
    const sortWindow = {
      $tumblingWindow: { interval: { size: 1, unit: "second" }, pipeline: [{ $sort: { a: 1 } }] },
    };
    const split = splitForRepartition(planOf([KAFKA, sortWindow, MERGE], 2));
    expect(split.key).toBeUndefined();
    expect(split.explanation).toMatch(/one repartition partition/);
  });
});

describe("the repartition key hash", () => {
  it("is stable and spreads keys over the partitions", () => {
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 600; i++) counts[partitionOfKey(`customer-${i}`, 6)]++;
    for (const n of counts) expect(n).toBeGreaterThan(60);
    expect(partitionOfKey({ a: 1, b: [2] }, 6)).toBe(partitionOfKey({ a: 1, b: [2] }, 6));
    // Types count: the int 1 and the string "1" are different group keys.
    expect([0, 1, 2, 3].some((i) => partitionOfKey(i, 97) !== partitionOfKey(String(i), 97))).toBe(true);
  });

  it("puts keys that $group calls equal in one partition (1, 1.0, Long(1); null and missing)", () => {
    for (const n of [1, 7, 123456]) {
      const expected = partitionOfKey(n, 97);
      expect(partitionOfKey(new Double(n), 97)).toBe(expected);
      expect(partitionOfKey(Long.fromNumber(n), 97)).toBe(expected);
      expect(partitionOfKey(Decimal128.fromString(`${n}.0`), 97)).toBe(expected);
    }
    expect(partitionOfKey(undefined, 97)).toBe(partitionOfKey(null, 97));
  });
});

describe("task stats", () => {
  const stats = (over: Partial<ProcessorStats>): ProcessorStats =>
    ({ ...EMPTY_STATS, name: "orders", status: "running", scaleFactor: 1, ...over }) as ProcessorStats;

  it("takes input from the reader and output, state, watermark and lag from the partitions", () => {
    const p1 = stats({
      outputMessageCount: 3,
      stateSize: 10,
      watermark: new Date(2000),
      kafkaTotalOffsetLag: 4,
    });
    const p4 = stats({
      outputMessageCount: 2,
      stateSize: 5,
      watermark: new Date(1000),
      kafkaTotalOffsetLag: 1,
    });
    const combined = combineTaskStats(stats({ inputMessageCount: 100, dlqMessageCount: 1 }), [p1, p4], {
      task: 1,
      instance: "host:1",
      partitions: [
        [1, p1],
        [4, p4],
      ],
      refusedCheckpoints: 2,
    });
    expect(combined).toMatchObject({
      inputMessageCount: 100,
      outputMessageCount: 5,
      dlqMessageCount: 1,
      stateSize: 15,
      watermark: new Date(1000),
      tasks: [{ task: 1, instance: "host:1", partitions: [1, 4], lag: 5, refusedCheckpoints: 2 }],
    });
  });

  it("give verbose operators and latency: the reader's operators, then the running partitions' summed", () => {
    const op = (name: string, inputMessageCount: number): OperatorStatsOutput => ({
      ...(EMPTY_STATS as unknown as OperatorStatsOutput),
      name,
      inputMessageCount,
      executionTimeMillis: 1,
    });
    const latency = (p50: number, count: number): LatencyStats => ({
      p50,
      p95: p50,
      p99: p50,
      unit: "microseconds",
      count,
      sum: p50 * count,
    });
    const reader = stats({
      operatorStats: [op("KafkaConsumerOperator", 9), op("RepartitionOperator", 9)],
      latency: latency(100, 9),
    });
    const partition = (input: number) =>
      stats({
        operatorStats: [op("KafkaConsumerOperator", input), op("MergeOperator", input)],
        latency: latency(2_000, input),
      });
    const [p0, p1] = [partition(3), partition(5)];
    const combined = combineTaskStats(reader, [p0, p1], {
      task: 0,
      instance: "host:1",
      partitions: [
        [0, p0],
        [1, p1],
      ],
      refusedCheckpoints: 0,
    });
    expect(combined.operatorStats).toEqual([
      op("KafkaConsumerOperator", 9),
      op("RepartitionOperator", 9),
      { ...op("KafkaConsumerOperator", 8), executionTimeMillis: 2 },
      { ...op("MergeOperator", 8), executionTimeMillis: 2 },
    ]);
    // The reader's latency ends at the repartition topic; the partitions' at the processor's sink.
    expect(combined.latency).toEqual(latency(2_000, 8));
  });

  it("are printed by sp stats as a table per processor", () => {
    const text = renderTaskTables([
      {
        name: "orders",
        state: "STARTED",
        stats: {
          tasks: [
            { task: 0, instance: "a:1", partitions: [0, 3], sourcePartitions: ["t:0", "t:3"], lag: 7 },
            { task: 1, instance: "b:2", partitions: [1, 4], sourcePartitions: ["t:1"], lag: 0 },
          ],
        },
      },
    ]);
    expect(text).toContain("tasks of orders (2):");
    expect(text).toMatch(/0\s+a:1\s+0,3\s+0,3/);
    expect(text).toMatch(/1\s+b:2\s+1,4\s+1\b/);
    // The tasks' counts overlap after moves: the processor's own totals are its row above.
    expect(text).toContain(
      "may add up to more than the processor's IN/OUT above, which count every record once",
    );
  });
});

describe("modifying parallelism", () => {
  const record = (parallelism: number): ProcessorRecord => ({
    id: "p1",
    name: "orders",
    workspace: "default",
    pipeline: [KAFKA, WINDOW, MERGE],
    options: { parallelism },
    state: "STOPPED",
    createdAt: new Date(),
    lastModified: new Date(),
    lastStateChange: new Date(),
  });

  it("between 1 and more than 1 needs resumeFromCheckpoint: false (the checkpoints do not carry over)", () => {
    const refusal = (() => {
      try {
        planModification(record(1), { options: { parallelism: 3 } }, CONNECTIONS);
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(ControlError);
    expect(String((refusal as Error).message)).toContain(
      "resumeFromCheckpoint must be false to change options.parallelism between 1 and more than 1",
    );
    expect(
      planModification(record(1), { options: { parallelism: 3 }, resumeFromCheckpoint: false }, CONNECTIONS)
        .definition.options,
    ).toEqual({ parallelism: 3 });
    // 3 → 6 keeps the per-partition checkpoints: partitions, not tasks, hold the state.
    expect(planModification(record(3), { options: { parallelism: 6 } }, CONNECTIONS).resume).toBe(true);
  });
});

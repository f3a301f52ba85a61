import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { DocumentsSource } from "../../src/connectors/documents/source.ts";
import { compileExpression, MqlRuntimeError, type Doc } from "../../src/mql/index.ts";
import type { StagePlan } from "../../src/pipeline/plan.ts";
import { ProcessorRuntime, type Source, type SourceBatch } from "../../src/runtime/index.ts";
import { ASP_DLQ_RECORD_KEYS } from "../support/dlq.ts";
import {
  addFields,
  CollectSink,
  documentsPlan,
  ev,
  FakeClock,
  group,
  match,
  runPlan,
  ScriptedSource,
  timeFieldOf,
  windowStage,
} from "./helpers.ts";

const divide: StagePlan = {
  kind: "transform",
  operatorName: "AddFieldsOperator",
  path: "pipeline[2].$addFields",
  apply: (doc) => {
    if (doc.d === 0) throw new MqlRuntimeError("$divide", "$addFields.r", "can't $divide by zero", 16608);
    return { ...doc, r: (doc.n as number) / (doc.d as number) };
  },
};

describe("runtime: source stage", () => {
  it("stamps _ts from timeField and _stream_meta.source, keeping a user's own _stream_meta keys", async () => {
    const plan = documentsPlan([], { timeField: timeFieldOf("t"), tsFieldName: "ingestionTime" });
    const { out } = await runPlan(plan, new DocumentsSource([{ ...ev(3), _stream_meta: { mine: 1 } }]));
    expect(out[0].ingestionTime).toEqual(new Date(3000));
    expect(out[0]._ts).toBeUndefined();
    expect(out[0]._stream_meta).toEqual({ mine: 1, source: { type: "generated" } });
  });

  it("uses the source timestamp without timeField", async () => {
    const clock = new FakeClock(42_000);
    const { out } = await runPlan(documentsPlan([]), new DocumentsSource([{ a: 1 }], { clock }), { clock });
    expect(out[0]._ts).toEqual(new Date(42_000));
  });

  it("dead-letters missing and non-date timeField values with ASP's record shape", async () => {
    const plan = documentsPlan([], { timeField: timeFieldOf("t") });
    const { out, dlq, stats } = await runPlan(
      plan,
      new DocumentsSource([{ a: 1 }, { t: 5 }, ev(1, { ok: true })]),
    );
    expect(out.map((d) => d.ok)).toEqual([true]);
    expect(dlq.records).toHaveLength(2);
    const [missing, number] = dlq.records;
    expect(Object.keys(missing)).toEqual(ASP_DLQ_RECORD_KEYS);
    expect(missing.operatorName).toBe("DocumentsDataSourceOperator");
    expect((missing.errInfo as Doc).reason).toBe(
      "Failed to process input document in DocumentsDataSourceOperator with error: timeField must evaluate to a date, but it evaluated to missing",
    );
    expect((number.errInfo as Doc).reason).toMatch(/evaluated to int$/);
    expect(missing.processorName).toBe("test");
    expect(stats.dlqMessageCount).toBe(2);
    expect(stats.dlqMessageSize).toBeGreaterThan(0);
  });
});

describe("runtime: stateless stages and DLQ", () => {
  it("dead-letters per-document errors with the operator name and continues", async () => {
    const plan = documentsPlan([match((d) => d.keep !== false), divide]);
    const docs = [
      { n: 1, d: 2 },
      { n: 1, d: 0 },
      { n: 9, d: 3, keep: false },
      { n: 4, d: 4 },
    ];
    const { out, dlq, stats } = await runPlan(plan, new DocumentsSource(docs));
    expect(out.map((d) => d.r)).toEqual([0.5, 1]);
    expect(dlq.records[0].operatorName).toBe("AddFieldsOperator");
    expect((dlq.records[0].errInfo as Doc).reason).toBe(
      "Failed to process input document in AddFieldsOperator with error: can't $divide by zero",
    );
    expect(dlq.records[0].doc).toMatchObject({ n: 1, d: 0 });
    expect(dlq.records[0]._stream_meta).toEqual({ source: { type: "generated" } });
    expect(stats.outputMessageCount).toBe(2);
  });

  it("counts dead letters without a DLQ writer", async () => {
    const { stats } = await runPlan(documentsPlan([divide]), new DocumentsSource([{ n: 1, d: 0 }]), {
      dlq: false,
    });
    expect(stats.dlqMessageCount).toBe(1);
  });

  it("$validate: discard drops silently, dlq writes ASP's reason", async () => {
    const validate = (action: "discard" | "dlq"): StagePlan => ({
      kind: "validate",
      operatorName: "ValidateOperator",
      path: "pipeline[1].$validate",
      predicate: (d) => typeof d.id === "string",
      action,
    });
    const docs = [{ id: "a" }, { id: 1 }];
    const discard = await runPlan(documentsPlan([validate("discard")]), new DocumentsSource(docs));
    expect(discard.out).toHaveLength(1);
    expect(discard.dlq.records).toHaveLength(0);
    const dlq = await runPlan(documentsPlan([validate("dlq")]), new DocumentsSource(docs));
    expect(dlq.dlq.records[0]).toMatchObject({
      errInfo: { reason: "Input document found to be invalid in $validate stage" },
      operatorName: "ValidateOperator",
      doc: { id: 1 },
    });
  });

  it("$setStreamMeta values reach expressions as vars.$stream, not the document body", async () => {
    const seen: unknown[] = [];
    const setMeta: StagePlan = {
      kind: "setStreamMeta",
      operatorName: "SetStreamMetaOperator",
      path: "pipeline[1].$setStreamMeta",
      fields: [["coll", compileExpression({ $concat: ["c_", "$x"] })]],
    };
    const spy: StagePlan = {
      kind: "match",
      operatorName: "MatchOperator",
      path: "pipeline[2].$match",
      predicate: (_doc, vars) => {
        seen.push(vars?.$stream);
        return true;
      },
    };
    const { out } = await runPlan(documentsPlan([setMeta, spy]), new DocumentsSource([{ x: "a" }]));
    expect(seen).toEqual([{ source: { type: "generated" }, coll: "c_a" }]);
    expect(out[0]).not.toHaveProperty("coll");
    expect(out[0]._stream_meta).toEqual({ source: { type: "generated" } });
  });

  it("fails on a non-document error (a bug), instead of dead-lettering it", async () => {
    const broken: StagePlan = {
      kind: "match",
      operatorName: "MatchOperator",
      path: "p",
      predicate: () => {
        throw new TypeError("bug");
      },
    };
    await expect(runPlan(documentsPlan([broken]), new DocumentsSource([{}]))).rejects.toThrow("bug");
  });
});

describe("runtime: batches, back-pressure, stats", () => {
  it("never reads more than maxBatchesAhead batches beyond what the writes hold, and writes collect the batches run meanwhile", async () => {
    const steps = Array.from({ length: 40 }, (_, i) => ({ docs: [{ i }] }));
    const source = new ScriptedSource(steps);
    let maxLead = 0;
    let written = 0;
    const sizes: number[] = [];
    const sink = new CollectSink();
    const slowSink = {
      operatorName: "SlowSink",
      write: async (docs: readonly Doc[]) => {
        await new Promise((r) => setTimeout(r, 1));
        written += docs.length;
        sizes.push(docs.length);
        maxLead = Math.max(maxLead, source.reads - written);
        return sink.write(docs);
      },
      close: async () => {},
    };
    const runtime = new ProcessorRuntime(documentsPlan([]), {
      source,
      sink: slowSink,
      maxBatchesAhead: 3,
      maxDocsPerWrite: 4,
    });
    await runtime.run();
    expect(sink.docs.map((d) => d.i)).toEqual(steps.map((_, i) => i));
    // Read ahead (3), the batch waiting to be delivered (1) and the next write's batches (at most 4).
    expect(maxLead).toBeLessThanOrEqual(3 + 1 + 4);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4);
    expect(sizes.length).toBeLessThan(steps.length);
  });

  it("holds no batch it has written while it runs (a source that rereads, as Kafka's, included)", async () => {
    setFlagsFromString("--expose-gc");
    const collectGarbage = runInNewContext("gc") as () => void;
    const early: WeakRef<Doc>[] = [];
    let reads = 0;
    const source: Source = {
      type: "kafka",
      operatorName: "KafkaConsumerOperator",
      rereadsUnhandledRecords: true,
      start: async () => undefined,
      next: async (): Promise<SourceBatch> => {
        const doc = { n: reads++ };
        if (doc.n < 10) early.push(new WeakRef(doc));
        return { records: [{ doc, partition: 0, timestamp: 0, meta: undefined, size: 1 }] };
      },
      positions: () => ({ reads }),
      close: async () => undefined,
    };
    let written = 0;
    let alive: number | undefined;
    const runtime = new ProcessorRuntime(documentsPlan([]), {
      source,
      sink: {
        operatorName: "NullSink",
        write: async (docs) => {
          // A macrotask: WeakRef targets are kept until the microtasks of the task that made them ran out.
          await new Promise((resolve) => setImmediate(resolve));
          written += docs.length;
          if (written >= 200 && alive === undefined) {
            collectGarbage();
            alive = early.filter((ref) => ref.deref() !== undefined).length;
            runtime.stop();
          }
          return { bytes: 0 };
        },
        close: async () => undefined,
      },
      // Small writes: the one in flight at the check holds none of the first documents.
      maxDocsPerWrite: 10,
    });
    await runtime.run();
    expect(alive).toBe(0);
  });

  it("empties each batch's records array once read (an old array would keep its records alive through scavenges)", async () => {
    const handedOver: SourceBatch["records"][] = [];
    let reads = 0;
    const source: Source = {
      type: "generated",
      operatorName: "DocumentsDataSourceOperator",
      start: async () => undefined,
      next: async (): Promise<SourceBatch | undefined> => {
        if (reads === 3) return undefined;
        const records = [0, 1].map((i) => ({
          doc: { n: reads * 2 + i },
          partition: 0,
          timestamp: 0,
          meta: undefined,
          size: 1,
        }));
        reads++;
        handedOver.push(records);
        return { records };
      },
      positions: () => ({ reads }),
      close: async () => undefined,
    };
    const { out } = await runPlan(documentsPlan([]), source);
    expect(out.map((doc) => doc.n)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(handedOver.map((records) => records.length)).toEqual([0, 0, 0]);
  });

  it("reconciles: input = output + filtered + DLQ + window-absorbed, with ASP stats names", async () => {
    const plan = documentsPlan(
      [
        match((d) => d.v !== 0),
        divide,
        windowStage({ type: "tumbling", intervalMs: 1000, pipeline: [group({ _id: "$k", n: { $sum: 1 } })] }),
      ],
      { timeField: timeFieldOf("t") },
    );
    const docs = [
      ev(1, { k: "a", n: 1, d: 1 }),
      ev(1.5, { k: "b", n: 1, d: 0 }), // DLQ ($divide)
      ev(1.7, { k: "a", v: 0, n: 1, d: 1 }), // filtered
      ev(2.2, { k: "a", n: 1, d: 1 }),
      ev(0.5, { k: "a", n: 1, d: 1 }), // late
      { k: "x" }, // no time field
      ev(2.5, { k: "c", n: 1, d: 1 }),
    ];
    const runtime = new ProcessorRuntime(plan, {
      source: new DocumentsSource(docs),
      sink: new CollectSink(),
    });
    const stats = await runtime.run();
    expect(stats).toMatchObject({
      inputMessageCount: 7,
      outputMessageCount: 3,
      dlqMessageCount: 3,
      scaleFactor: 1,
    });
    expect(stats.watermark).toEqual(new Date(2499));
    expect(stats.latency).toMatchObject({ unit: "microseconds", count: 3 });
    const ops = stats.operatorStats ?? [];
    expect(ops.map((o) => o.name)).toEqual([
      "DocumentsDataSourceOperator",
      "MatchOperator",
      "AddFieldsOperator",
      "WindowOperator",
      "GroupOperator",
      "TestSinkOperator",
    ]);
    const window = ops[3];
    const filtered = ops[1].inputMessageCount - ops[1].outputMessageCount - ops[1].dlqMessageCount;
    const absorbed = window.inputMessageCount - window.dlqMessageCount;
    expect(filtered).toBe(1);
    expect(stats.inputMessageCount).toBe(
      ops[0].dlqMessageCount + filtered + ops[2].dlqMessageCount + window.dlqMessageCount + absorbed,
    );
    expect(ops[5].outputMessageCount).toBe(stats.outputMessageCount);
    // stateless pipeline: input = output + filtered + DLQ
    const plain = await runPlan(
      documentsPlan([match((d) => d.v !== 0), divide]),
      new DocumentsSource(docs.slice(0, 4)),
    );
    expect(plain.stats.inputMessageCount).toBe(
      plain.stats.outputMessageCount + 1 + plain.stats.dlqMessageCount,
    );
  });

  it("accounts window state per key within the target size", async () => {
    const docs = Array.from({ length: 2000 }, (_, i) => ev(1, { k: `device_${i}`, v: i }));
    const plan = documentsPlan(
      [
        windowStage({
          type: "tumbling",
          intervalMs: 60_000,
          pipeline: [
            group({
              _id: "$k",
              avg: { $avg: "$v" },
              min: { $min: "$v" },
              max: { $max: "$v" },
              c: { $count: {} },
            }),
          ],
        }),
      ],
      { timeField: timeFieldOf("t") },
    );
    let stateSize = 0;
    const source = new DocumentsSource(docs);
    const runtime = new ProcessorRuntime(plan, {
      source,
      sink: new CollectSink(),
      onOutput: () => {},
    });
    const originalNext = source.next.bind(source);
    source.next = async () => {
      const batch = await originalNext();
      if (batch === undefined) stateSize = runtime.stats().stateSize;
      return batch;
    };
    await runtime.run();
    expect(stateSize / 2000).toBeGreaterThan(0);
    expect(stateSize / 2000).toBeLessThan(200);
    void addFields;
  });
});

import { describe, expect, it } from "vitest";
import type { Doc } from "../../../src/mql/index.ts";
import { DocumentsSource } from "../../../src/connectors/documents/source.ts";
import {
  documentsPlan,
  ev,
  FakeClock,
  group,
  runPlan,
  ScriptedSource,
  timeFieldOf,
  windowStage,
} from "../helpers.ts";
import { referenceTimeWindows, type RefEvent } from "./reference.ts";
import { seededRandom } from "../../../src/connectors/sample/solar.ts";

const statsGroup = () =>
  group({ _id: "$k", avg: { $avg: "$v" }, min: { $min: "$v" }, max: { $max: "$v" }, count: { $count: {} } });

function windowsOf(out: Doc[]) {
  const byWindow = new Map<number, Map<string, unknown>>();
  for (const doc of out) {
    const meta = doc._stream_meta as { window: { start: Date; end: Date } };
    const start = meta.window.start.getTime();
    const m = byWindow.get(start) ?? new Map();
    m.set(doc._id as string, { avg: doc.avg, min: doc.min, max: doc.max, count: doc.count });
    byWindow.set(start, m);
  }
  return byWindow;
}

async function runEvents(
  events: RefEvent[],
  window: {
    type: "tumbling" | "hopping";
    intervalMs: number;
    hopMs: number;
    offsetMs: number;
    latenessMs: number;
  },
) {
  const docs = events.map((e) => ({ t: new Date(e.t).toISOString(), k: e.k, v: e.v }));
  const plan = documentsPlan(
    [
      windowStage({
        type: window.type,
        intervalMs: window.intervalMs,
        hopMs: window.hopMs,
        offsetMs: window.offsetMs,
        allowedLatenessMs: window.latenessMs,
        pipeline: [statsGroup()],
      }),
    ],
    { timeField: timeFieldOf("t") },
  );
  return runPlan(plan, new DocumentsSource(docs, { batchSize: 7 }));
}

function randomEvents(seed: number, n: number, jitterMs: number): RefEvent[] {
  const random = seededRandom(seed);
  const events: RefEvent[] = [];
  let t = 1_700_000_000_000;
  for (let i = 0; i < n; i++) {
    t += Math.floor(random() * 400);
    events.push({
      t: t - Math.floor(random() * jitterMs),
      k: `k${Math.floor(random() * 4)}`,
      v: Math.floor(random() * 100),
    });
  }
  return events;
}

function expectMatchesReference(
  result: Awaited<ReturnType<typeof runEvents>>,
  events: RefEvent[],
  window: { intervalMs: number; hopMs: number; offsetMs: number; latenessMs: number },
) {
  const ref = referenceTimeWindows(events, window);
  const actual = windowsOf(result.out);
  expect([...actual.keys()]).toEqual(ref.windows.map((w) => w.start));
  for (const w of ref.windows) {
    const got = actual.get(w.start);
    expect(got?.size).toBe(w.groups.size);
    for (const [k, g] of w.groups) {
      const a = got?.get(k) as { avg: number; min: number; max: number; count: number };
      expect(a.count).toBe(g.count);
      expect(a.min).toBe(g.min);
      expect(a.max).toBe(g.max);
      expect(a.avg).toBeCloseTo(g.avg, 9);
    }
  }
  const lateRecords = result.dlq.records;
  expect(lateRecords.map((r) => r.missedWindowStartTimes)).toEqual(ref.late.map((l) => l.missed));
}

describe("tumbling windows", () => {
  it("matches the reference on in-order events and emits window meta per group", async () => {
    const events = randomEvents(1, 300, 0);
    const w = { intervalMs: 5000, hopMs: 5000, offsetMs: 0, latenessMs: 0 };
    const result = await runEvents(events, { type: "tumbling", ...w });
    expectMatchesReference(result, events, w);
    const first = result.out[0];
    expect(Object.keys(first)).toEqual(["_id", "avg", "min", "max", "count", "_stream_meta"]);
    expect((first._stream_meta as Doc).source).toEqual({ type: "generated" });
  });

  it("matches the reference with out-of-order and late events, lateness and an offset", async () => {
    for (const seed of [2, 3, 4]) {
      const events = randomEvents(seed, 400, 6000);
      const w = { intervalMs: 3000, hopMs: 3000, offsetMs: 1250, latenessMs: 1000 };
      const result = await runEvents(events, { type: "tumbling", ...w });
      expect(result.dlq.records.length).toBeGreaterThan(0);
      expectMatchesReference(result, events, w);
    }
  });

  it("closes [30s,31s) on the first event at or after 31.001 s with zero lateness", async () => {
    const clock = new FakeClock();
    const plan = documentsPlan(
      [windowStage({ type: "tumbling", intervalMs: 1000, pipeline: [group({ _id: null, n: { $sum: 1 } })] })],
      { timeField: timeFieldOf("t") },
    );
    const source = new ScriptedSource(
      [{ docs: [ev(30.2), ev(30.9)] }, { docs: [ev(31.0)] }, { docs: [ev(31.001)] }, { idle: true }],
      clock,
    );
    const sink = (await runPlan(plan, source, { clock, maxBatchesAhead: 1 })).sink;
    // batches: nothing after 31.0 (watermark 30.999), the [30,31) window after 31.001, then [31,32) at end of input
    expect(sink.batches).toEqual([1, 1]);
    expect(sink.docs[0].n).toBe(2);
    expect(sink.docs[1].n).toBe(2);
  });

  it("writes ASP's late record shape", async () => {
    const plan = documentsPlan(
      [windowStage({ type: "tumbling", intervalMs: 1000, pipeline: [group({ _id: null, n: { $sum: 1 } })] })],
      { timeField: timeFieldOf("t") },
    );
    const result = await runPlan(plan, new DocumentsSource([ev(10), ev(12.5), ev(10.5, { x: 1 })]));
    expect(result.dlq.records).toHaveLength(1);
    const record = result.dlq.records[0];
    expect(Object.keys(record)).toEqual([
      "doc",
      "error",
      "missedWindowStartTimes",
      "processorName",
      "dlqTime",
    ]);
    expect(record.error).toBe("Input document arrived late.");
    expect(record.missedWindowStartTimes).toEqual([10_000]);
    expect((record.doc as Doc).x).toBe(1);
    expect(record.dlqTime).toBeInstanceOf(Date);
    expect(result.stats.dlqMessageCount).toBe(1);
  });

  it("emits nothing for empty windows and buffered documents with window meta without $group", async () => {
    const plan = documentsPlan([windowStage({ type: "tumbling", intervalMs: 1000, pipeline: [] })], {
      timeField: timeFieldOf("t"),
    });
    const { out } = await runPlan(plan, new DocumentsSource([ev(1, { a: 1 }), ev(5, { a: 2 })]));
    expect(out.map((d) => d.a)).toEqual([1, 2]);
    const meta = out[1]._stream_meta as { window: { start: Date; end: Date }; source: Doc };
    expect(meta.window).toEqual({ start: new Date(5000), end: new Date(6000) });
    expect(meta.source).toEqual({ type: "generated" });
  });
});

describe("hopping windows", () => {
  it("matches the reference with overlaps, gaps and late events", async () => {
    for (const [interval, hop] of [
      [4000, 1000],
      [2000, 3000],
    ]) {
      const events = randomEvents(interval + hop, 400, 3000);
      const w = { intervalMs: interval, hopMs: hop, offsetMs: 500, latenessMs: 500 };
      const result = await runEvents(events, { type: "hopping", ...w });
      expectMatchesReference(result, events, w);
    }
  });

  it("joins still-open windows and dead-letters only the missed ones", async () => {
    const plan = documentsPlan(
      [
        windowStage({
          type: "hopping",
          intervalMs: 3000,
          hopMs: 1000,
          pipeline: [group({ _id: null, n: { $sum: 1 } })],
        }),
      ],
      { timeField: timeFieldOf("t") },
    );
    // after 13.5 s the watermark is 13.499 s: [8,11) closed, [10,13) closed, [11,14) open… event at 11.5 belongs to [9,12) [10,13) [11,14)
    const result = await runPlan(plan, new DocumentsSource([ev(13.5), ev(11.5)]));
    expect(result.dlq.records[0].missedWindowStartTimes).toEqual([9000, 10000]);
    const starts = result.out.map((d) =>
      (d._stream_meta as { window: { start: Date } }).window.start.getTime(),
    );
    expect(starts).toEqual([11000, 12000, 13000]);
    expect(result.out.map((d) => d.n)).toEqual([2, 1, 1]);
  });
});

describe("idleTimeout and processing time", () => {
  it("closes a window after max(remaining, idleTimeout) of idleness", async () => {
    const clock = new FakeClock(1_000_000);
    const plan = documentsPlan(
      [
        windowStage({
          type: "tumbling",
          intervalMs: 10_000,
          allowedLatenessMs: 0,
          idleTimeoutMs: 2000,
          pipeline: [group({ _id: null, n: { $sum: 1 } })],
        }),
      ],
      { timeField: timeFieldOf("t") },
    );
    const emitted: number[] = [];
    const source = new ScriptedSource(
      [
        { docs: [ev(1), ev(4)] },
        { idle: true, advance: 1000 }, // idle 1 s: below idleTimeout
        { idle: true, advance: 2000 }, // idle 3 s: ≥ idleTimeout but remaining (10 − 4 = 6 s) not yet
        { idle: true, advance: 2000 }, // idle 5 s
        { idle: true, advance: 1500 }, // idle 6.5 s ≥ remaining ⇒ closes
        { idle: true, advance: 1000 },
      ],
      clock,
    );
    const { ProcessorRuntime } = await import("../../../src/runtime/index.ts");
    const { CollectSink } = await import("../helpers.ts");
    const sink = new CollectSink();
    const runtime = new ProcessorRuntime(plan, {
      source,
      sink,
      clock,
      maxBatchesAhead: 1,
      onOutput: () => emitted.push(source.reads),
    });
    await runtime.run();
    expect(sink.docs).toHaveLength(1);
    expect(sink.docs[0].n).toBe(2);
    // Output came while handling the 5th batch (idle 6.5 s), not before.
    expect(emitted).toEqual([5]);
  });

  it("processingTime windows use the arrival wall clock", async () => {
    const clock = new FakeClock(0);
    const plan = documentsPlan([
      windowStage({
        type: "tumbling",
        intervalMs: 1000,
        boundary: "processingTime",
        pipeline: [group({ _id: null, n: { $sum: 1 } })],
      }),
    ]);
    const source = new ScriptedSource(
      [
        { docs: [{ a: 1 }, { a: 2 }], advance: 100 },
        { docs: [{ a: 3 }], advance: 500 },
        { idle: true, advance: 600 },
        { docs: [{ a: 4 }], advance: 100 },
      ],
      clock,
    );
    const { out } = await runPlan(plan, source, { clock, maxBatchesAhead: 1 });
    expect(out.map((d) => d.n)).toEqual([3, 1]);
  });
});

// Checkpoints through ProcessorRuntime: the barrier (positions of processed batches only, saved before the
// source acknowledges them), restore after a crash (outputs and stats equal an uninterrupted run), and
// deterministic ids for documents that reach a $merge-like sink without an `_id`.
import type { ObjectId } from "bson";
import { describe, expect, it } from "vitest";
import { DocumentsSource } from "../../src/connectors/documents/source.ts";
import type { Doc } from "../../src/mql/index.ts";
import type { StagePlan } from "../../src/pipeline/plan.ts";
import {
  MemoryCheckpointStore,
  ProcessorRuntime,
  type Checkpoint,
  type CheckpointStore,
  type Sink,
  type SinkResult,
  type SinkWriteContext,
  type Source,
  type SourceBatch,
} from "../../src/runtime/index.ts";
import {
  addFields,
  CollectSink,
  documentsPlan,
  ev,
  FakeClock,
  group,
  MemoryDlq,
  runPlan,
  timeFieldOf,
  windowStage,
} from "./helpers.ts";

const docs = Array.from({ length: 50 }, (_, i) => ({ _id: i, n: i }));

/** A sink that throws on its `failOnWrite`-th write (1-based), like a server going away. */
class FlakySink extends CollectSink {
  writes = 0;
  readonly failOnWrite: number;
  constructor(failOnWrite: number) {
    super();
    this.failOnWrite = failOnWrite;
  }
  override async write(batch: readonly Doc[]): Promise<SinkResult> {
    if (++this.writes === this.failOnWrite) throw new Error("connection reset");
    return super.write(batch);
  }
}

/** Wraps a source, recording every acknowledged position and what had been read when it came. */
class AckRecordingSource implements Source {
  readonly inner: Source;
  readonly acks: Doc[] = [];
  reads = 0;
  constructor(inner: Source) {
    this.inner = inner;
  }
  get type() {
    return this.inner.type;
  }
  get operatorName() {
    return this.inner.operatorName;
  }
  start() {
    return this.inner.start();
  }
  async next(): Promise<SourceBatch | undefined> {
    this.reads++;
    return this.inner.next();
  }
  positions() {
    return this.inner.positions();
  }
  async acknowledge(positions: Doc): Promise<void> {
    this.acks.push(positions);
  }
  close() {
    return this.inner.close();
  }
}

/** Keeps every saved checkpoint (the newest is what load() returns). */
class RecordingStore extends MemoryCheckpointStore {
  readonly saved: Checkpoint[] = [];
  override async save(checkpoint: Checkpoint): Promise<void> {
    this.saved.push(checkpoint);
    await super.save(checkpoint);
  }
}

function runtimeFor(
  stages: StagePlan[] | ReturnType<typeof documentsPlan>,
  source: Source,
  sink: Sink,
  store: CheckpointStore,
  extra: { resumeFrom?: Checkpoint; checkpointIntervalMs?: number; clock?: FakeClock } = {},
) {
  return new ProcessorRuntime(Array.isArray(stages) ? documentsPlan(stages) : stages, {
    source,
    sink,
    dlq: new MemoryDlq(),
    checkpoints: store,
    checkpointIntervalMs: extra.checkpointIntervalMs ?? 0,
    resumeFrom: extra.resumeFrom,
    clock: extra.clock,
  });
}

describe("checkpoints: the barrier", () => {
  it("saves the positions of processed batches only (never read-ahead ones), then acknowledges them", async () => {
    const store = new RecordingStore();
    const source = new AckRecordingSource(new DocumentsSource(docs, { batchSize: 10 }));
    const sink = new CollectSink();
    const runtime = new ProcessorRuntime(documentsPlan([]), {
      source,
      sink,
      checkpoints: store,
      checkpointIntervalMs: 0,
      maxBatchesAhead: 3,
    });
    const stats = await runtime.run();
    // Checkpoint 0 holds the starting point before anything is read (not acknowledged: nothing was); then
    // one per batch, each naming exactly the documents written before it.
    expect(store.saved.map((c) => c.sourcePositions)).toEqual(
      [0, 10, 20, 30, 40, 50].map((position) => ({ position })),
    );
    expect(store.saved.map((c) => c.id)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(store.saved.map((c) => (c.stats as Doc).outputMessageCount)).toEqual([0, 10, 20, 30, 40, 50]);
    expect(source.acks).toEqual(store.saved.slice(1).map((c) => c.sourcePositions));
    expect(stats.lastCheckpoint).toMatchObject({ id: 5 });
    expect(stats.lastCheckpoint?.sizeBytes).toBeGreaterThan(0);
    expect(stats.lastCheckpoint?.durationMillis).toBeGreaterThanOrEqual(0);
    expect(stats.lastCheckpoint?.at).toBeInstanceOf(Date);
  });

  it("takes periodic checkpoints by the clock, and a last one at the end of input", async () => {
    const clock = new FakeClock(1_000_000);
    const store = new RecordingStore();
    // Each read moves the clock 400 ms: with a 1 s interval every third batch boundary is due.
    const source = new AckRecordingSource(new DocumentsSource(docs.slice(0, 45), { batchSize: 5, clock }));
    const next = source.next.bind(source);
    source.next = async () => {
      clock.t += 400;
      return next();
    };
    const runtime = new ProcessorRuntime(documentsPlan([]), {
      source,
      sink: new CollectSink(),
      checkpoints: store,
      checkpointIntervalMs: 1_000,
      clock,
      maxBatchesAhead: 1,
    });
    await runtime.run();
    // The first boundary always checkpoints; then one each 1 s of clock; the end of input takes the last.
    expect(store.saved.map((c) => (c.sourcePositions as Doc).position)).toEqual([0, 5, 20, 35, 45]);
  });

  it("takes a final checkpoint on stop, covering the batch in progress", async () => {
    const store = new RecordingStore();
    const source = new DocumentsSource(docs, { batchSize: 10 });
    const sink = new CollectSink();
    const runtime = runtimeFor([], source, sink, store, { checkpointIntervalMs: 60_000 });
    const write = sink.write.bind(sink);
    sink.write = async (batch) => {
      if (sink.docs.length === 20) runtime.stop();
      return write(batch);
    };
    const stats = await runtime.run();
    expect(sink.docs).toHaveLength(30);
    expect(store.saved.map((c) => c.sourcePositions)).toEqual([
      { position: 0 },
      { position: 10 },
      { position: 30 },
    ]);
    expect(stats.lastCheckpoint?.id).toBe(2);
  });

  it("stops without waiting for a quiet source's poll: the final checkpoint covers what was handled", async () => {
    const store = new RecordingStore();
    const inner = new DocumentsSource(docs.slice(0, 10), { batchSize: 10 });
    let reads = 0;
    let closed = false;
    // After its one batch the source is quiet: its next poll answers only when the source closes.
    let answer: (batch: SourceBatch | undefined) => void = () => undefined;
    const source: Source = {
      type: inner.type,
      operatorName: inner.operatorName,
      rereadsUnhandledRecords: true,
      start: () => inner.start(),
      positions: () => inner.positions(),
      next: () => {
        if (++reads === 1) return inner.next();
        if (closed) return Promise.resolve(undefined);
        return new Promise<SourceBatch | undefined>((resolve) => (answer = resolve));
      },
      close: async () => {
        closed = true;
        answer({ records: [], idle: true });
      },
    };
    const sink = new CollectSink();
    const runtime = runtimeFor([], source, sink, store, { checkpointIntervalMs: 60_000 });
    const write = sink.write.bind(sink);
    sink.write = async (batch) => {
      // Asked once the runtime waits for the quiet source's answer.
      setTimeout(() => runtime.stop(), 20);
      return write(batch);
    };
    await runtime.run();
    expect(closed).toBe(true);
    expect(sink.docs).toHaveLength(10);
    expect(store.saved.map((c) => c.sourcePositions)).toEqual([{ position: 0 }, { position: 10 }]);
  });

  it("waits for a read in flight at a stop when the source could not read it again (stdin), and handles it", async () => {
    const store = new RecordingStore();
    const inner = new DocumentsSource(docs.slice(0, 20), { batchSize: 10 });
    let reads = 0;
    let stopAsked: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => (stopAsked = resolve));
    const source: Source = {
      type: inner.type,
      operatorName: inner.operatorName,
      start: () => inner.start(),
      positions: () => inner.positions(),
      // The second batch arrives only after the stop was asked for: it must still be written.
      next: async () => {
        if (++reads === 2) await stopped;
        return inner.next();
      },
      close: () => inner.close(),
    };
    const sink = new CollectSink();
    const runtime = runtimeFor([], source, sink, store, { checkpointIntervalMs: 60_000 });
    const write = sink.write.bind(sink);
    sink.write = async (batch) => {
      setTimeout(() => {
        runtime.stop();
        stopAsked();
      }, 20);
      return write(batch);
    };
    await runtime.run();
    expect(sink.docs).toHaveLength(20);
    expect(store.saved.at(-1)?.sourcePositions).toEqual({ position: 20 });
  });

  it("acknowledges nothing when the batch's sink write fails", async () => {
    const store = new RecordingStore();
    const source = new AckRecordingSource(new DocumentsSource(docs, { batchSize: 10 }));
    const runtime = runtimeFor([], source, new FlakySink(3), store);
    await expect(runtime.run()).rejects.toThrow("connection reset");
    expect(source.acks).toEqual([{ position: 10 }, { position: 20 }]);
    expect((await store.load())?.sourcePositions).toEqual({ position: 20 });
  });
});

describe("checkpoints: resume after a crash", () => {
  it("continues from the checkpoint: every document written once, stats as if never interrupted", async () => {
    const store = new MemoryCheckpointStore();
    const stages = [addFields({ doubled: { $multiply: ["$n", 2] } })];
    const crashed = new FlakySink(4);
    await expect(
      runtimeFor(stages, new DocumentsSource(docs, { batchSize: 10 }), crashed, store).run(),
    ).rejects.toThrow();
    const checkpoint = await store.load();
    expect(checkpoint?.sourcePositions).toEqual({ position: 30 });

    const resumed = new CollectSink();
    const source = new DocumentsSource(docs, { batchSize: 10, position: 30 });
    const stats = await runtimeFor(stages, source, resumed, store, { resumeFrom: checkpoint }).run();

    const all = [...crashed.docs, ...resumed.docs];
    expect(all.map((d) => d._id)).toEqual(docs.map((d) => d._id));
    expect(all.every((d) => d.doubled === (d.n as number) * 2)).toBe(true);
    expect(stats).toMatchObject({ inputMessageCount: 50, outputMessageCount: 50, dlqMessageCount: 0 });
    expect(stats.operatorStats?.map((op) => [op.name, op.inputMessageCount])).toEqual([
      ["DocumentsDataSourceOperator", 50],
      ["AddFieldsOperator", 50],
      ["TestSinkOperator", 50],
    ]);
    expect(stats.lastCheckpoint?.id).toBe(checkpoint!.id + 2);
  });

  it("gives documents without _id the same ids when a replay produces them again", async () => {
    const noIds = docs.map(({ n }) => ({ n, tags: ["a", "b"] }));
    const unwind: StagePlan = {
      kind: "unwind",
      operatorName: "UnwindOperator",
      path: "pipeline[1].$unwind",
      apply: (doc) => (doc.tags as string[]).map((tag) => ({ ...doc, tags: tag })),
    };
    const store = new MemoryCheckpointStore();
    // Checkpoint only at the first batch; the crash comes after two more batches were written.
    const first = new MergeLikeSink(4);
    await expect(
      runtimeFor([unwind], new DocumentsSource(noIds, { batchSize: 10 }), first, store, {
        checkpointIntervalMs: 60_000,
      }).run(),
    ).rejects.toThrow();
    const checkpoint = await store.load();
    expect(checkpoint?.sourcePositions).toEqual({ position: 10 });
    expect(first.collection.size).toBe(60);

    const source = new DocumentsSource(noIds, { batchSize: 10, position: 10 });
    const replay = new MergeLikeSink(Infinity, first.collection);
    await runtimeFor([unwind], source, replay, store, { resumeFrom: checkpoint }).run();
    // The 20 replayed inputs' 40 outputs overwrote their earlier copies: 50 inputs × 2 tags, no duplicates.
    expect(replay.collection.size).toBe(100);
    const seen = [...replay.collection.values()].map((d) => `${d.n}/${d.tags}`).sort();
    expect(new Set(seen).size).toBe(100);
  });

  it("draws new ids after a fresh start (no checkpoint), so old outputs are never overwritten", async () => {
    const noIds = [{ n: 1 }, { n: 2 }];
    const a = new MergeLikeSink(Infinity);
    await runtimeFor([], new DocumentsSource(noIds), a, new MemoryCheckpointStore()).run();
    const b = new MergeLikeSink(Infinity, a.collection);
    await runtimeFor([], new DocumentsSource(noIds), b, new MemoryCheckpointStore()).run();
    expect(b.collection.size).toBe(4);
  });
});

describe("checkpoints: window state", () => {
  const events = Array.from({ length: 200 }, (_, i) => ev(i / 10, { k: i % 3, v: i }));
  const plan = documentsPlan(
    [
      windowStage({
        type: "hopping",
        intervalMs: 2_000,
        hopMs: 1_000,
        pipeline: [group({ _id: "$k", sum: { $sum: "$v" }, n: { $sum: 1 } })],
      }),
    ],
    { timeField: timeFieldOf("t") },
  );
  const key = (d: Doc) => `${d._id}@${((d._stream_meta as Doc).window as Doc).start as Date}`;

  it("restores open windows and the watermark: results after a crash equal an uninterrupted run", async () => {
    const uninterrupted = await runPlan(plan, new DocumentsSource(events, { batchSize: 20 }));
    const store = new RecordingStore();
    const crashed = new FlakySink(3);
    await expect(
      runtimeFor(plan, new DocumentsSource(events, { batchSize: 20 }), crashed, store).run(),
    ).rejects.toThrow();
    const checkpoint = await store.load();
    const position = (checkpoint?.sourcePositions as Doc).position as number;
    expect(position).toBeGreaterThan(0);
    expect(position).toBeLessThan(events.length);
    expect((checkpoint?.operatorState as Doc).window).toBeDefined();

    const resumed = new CollectSink();
    const source = new DocumentsSource(events, { batchSize: 20, position });
    const stats = await runtimeFor(plan, source, resumed, store, { resumeFrom: checkpoint }).run();
    const combined = [...crashed.docs, ...resumed.docs];
    // No window emitted twice, none missing, identical aggregates.
    expect(new Set(combined.map(key)).size).toBe(combined.length);
    const strip = (d: Doc) => ({ key: key(d), sum: d.sum, n: d.n });
    expect(combined.map(strip).sort((a, b) => a.key.localeCompare(b.key))).toEqual(
      uninterrupted.out.map(strip).sort((a, b) => a.key.localeCompare(b.key)),
    );
    expect(stats.inputMessageCount).toBe(events.length);
    expect(stats.outputMessageCount).toBe(uninterrupted.out.length);
  });

  it("fails permanently when window state exceeds maxStateBytes", async () => {
    const runtime = new ProcessorRuntime(plan, {
      source: new DocumentsSource(events),
      sink: new CollectSink(),
      maxStateBytes: 10,
    });
    await expect(runtime.run()).rejects.toMatchObject({
      retryable: false,
      message: expect.stringContaining("maxStateBytes"),
    });
  });
});

/** Upserts by `_id` into a Map the way `$merge` does, asking the runtime for ids it lacks. */
class MergeLikeSink implements Sink {
  readonly operatorName = "MergeOperator";
  readonly collection: Map<string, Doc>;
  writes = 0;
  private readonly failOnWrite: number;
  constructor(failOnWrite: number, collection = new Map<string, Doc>()) {
    this.failOnWrite = failOnWrite;
    this.collection = collection;
  }
  async write(batch: readonly Doc[], context?: SinkWriteContext): Promise<SinkResult> {
    if (++this.writes === this.failOnWrite) throw new Error("connection reset");
    batch.forEach((doc, i) => {
      const id = (doc._id as ObjectId | undefined) ?? context!.idFor(i);
      this.collection.set(id.toHexString(), { ...doc, _id: id });
    });
    return { bytes: 0 };
  }
  async close(): Promise<void> {}
}

import { performance } from "node:perf_hooks";
import { bsonTypeOf, MqlRuntimeError, type Doc, type Vars } from "../mql/index.ts";
import type { ConnectorStagePlan, ProcessorPlan } from "../pipeline/plan.ts";
import { failDocument, type RunContext } from "./context.ts";
import {
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  type Checkpoint,
  type CheckpointInfo,
  type CheckpointStore,
  newCommitMarker,
} from "./checkpoint.ts";
import { operatorErrorRecord, operatorFailureReason, safeSize, type DlqWriter } from "./dlq.ts";
import { ReplayIds } from "./replay-ids.ts";
import { decodeState, encodeState } from "./state-codec.ts";
import type { Sink, SinkFailure, SinkWriteContext } from "./sink.ts";
import type { Source, SourceBatch } from "./source.ts";
import { createStatelessRunner, isStatelessStage, type StageRunner } from "./stages.ts";
import { StatsCollector, type OperatorStats, type ProcessorStats } from "./stats.ts";
import { systemClock, type Clock, type Item } from "./types.ts";
import { WatermarkTracker } from "./watermark.ts";
import { WritePipeline, type WritePart } from "./write-pipeline.ts";
import { createWindowRunner, type WindowRunner } from "./windows/index.ts";
import { checkStateLimit } from "./windows/state-limit.ts";

export interface RuntimeOptions {
  readonly source: Source;
  /** The resolved sink (`plan.sink`'s connector, or stdout for an ephemeral processor). */
  readonly sink: Sink;
  /** Without one, dead-letter records are dropped but still counted. */
  readonly dlq?: DlqWriter;
  readonly clock?: Clock;
  /** How many batches the source may be read ahead of processing (back-pressure bound). Default 2. */
  readonly maxBatchesAhead?: number;
  /**
   * Output of the batches processed while a sink write is in flight goes out together in the next write,
   * up to this many documents (default {@link DEFAULT_MAX_DOCS_PER_WRITE}; a single larger batch is
   * written alone). 1 writes every batch on its own.
   */
  readonly maxDocsPerWrite?: number;
  /** Builds runners for connector-backed stages (`$lookup`, `$https`…). */
  readonly connectorStage?: (
    stage: ConnectorStagePlan,
    ctx: RunContext,
    stats: StatsCollector,
  ) => StageRunner;
  /**
   * Called after each write with the outputs written (the demo prints them). The array is emptied after the
   * call (see `emptyWritten`): keep the documents, not the array.
   */
  readonly onOutput?: (docs: readonly Doc[]) => void;
  /** Called with the dead-letter records of each batch as they go to the DLQ (the console shows them). */
  readonly onDeadLetters?: (records: readonly Doc[]) => void;
  /** Where checkpoints are saved; without a store the runtime takes none. */
  readonly checkpoints?: CheckpointStore;
  /** Time between periodic checkpoints (by `clock`). Default DEFAULT_CHECKPOINT_INTERVAL_MS (5 s). */
  readonly checkpointIntervalMs?: number;
  /**
   * The checkpoint to continue from: operator state, replay ids and stats are restored from it. The
   * source must already have been created to start from its `sourcePositions`.
   */
  readonly resumeFrom?: Checkpoint;
  /** Called once the source has started. */
  readonly onRunning?: () => void;
  /** Called after each checkpoint was saved (before the source acknowledges its positions). */
  readonly onCheckpoint?: (info: CheckpointInfo) => void;
  /** Window state limit: above it the processor fails permanently (StateLimitExceededError). */
  readonly maxStateBytes?: number;
}

const STOPPED = Symbol("stopped");

export const DEFAULT_MAX_DOCS_PER_WRITE = 1000;

/** A batch as read, with the source's positions right after it. */
interface ReadBatch {
  readonly batch: SourceBatch;
  readonly positions: Doc;
}

/** Executes one processor plan: pulls source batches, runs the operators, writes the sink and the DLQ. */
export class ProcessorRuntime {
  readonly plan: ProcessorPlan;
  private readonly options: RuntimeOptions;
  private readonly clock: Clock;
  private readonly collector: StatsCollector;
  private readonly ctx: RunContext;
  private readonly runners: StageRunner[] = [];
  private readonly windowIndex: number;
  private readonly window: WindowRunner | undefined;
  private readonly tracker: WatermarkTracker;
  private readonly sourceOp: OperatorStats;
  private readonly sinkOp: OperatorStats;
  private pendingDlq: Doc[] = [];
  private stopped = false;
  /** Set while the run waits for a read that `stop()` may cut short (see `readOrStop`). */
  private wakeOnStop: (() => void) | undefined;
  private lastInputWall = 0;
  private readonly replay: ReplayIds;
  /** Event times come back the same on a replay (a timeField, or the source's own timestamps). */
  private readonly replayableTimes: boolean;
  /** Positions after the last batch fully processed (sink and DLQ written). */
  private positions: Doc | undefined;
  /** Something was processed since the last checkpoint. */
  private dirty = false;
  private nextCheckpointId = 1;
  /** Clock time of the last checkpoint; -Infinity makes the first batch boundary take one. */
  private lastCheckpointAt = -Infinity;
  /** The sink writes (and exactly-once commits), one at a time; see `deliver` and `commitInFlight`. */
  private readonly writes: WritePipeline;
  /** Output documents handed to `deliver` that the sink has not accepted (yet). */
  private unwritten = 0;

  constructor(plan: ProcessorPlan, options: RuntimeOptions) {
    this.plan = plan;
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.collector = new StatsCollector(plan.name);
    const clock = this.clock;
    this.ctx = {
      processorName: plan.name,
      clock,
      deadLetter: (record, operator) => this.deadLetter(record, operator),
    };
    this.sourceOp = this.collector.operator(options.source.operatorName);
    this.tracker = new WatermarkTracker(plan.source.partitionIdleTimeoutMs);
    let windowIndex = -1;
    let window: WindowRunner | undefined;
    plan.stages.forEach((stage, index) => {
      if (stage.kind === "window") {
        window = createWindowRunner(stage.window, stage.operatorName, {
          ctx: this.ctx,
          stats: this.collector,
          sourceType: options.source.type,
        });
        windowIndex = index;
        this.runners.push(window);
      } else if (isStatelessStage(stage)) {
        this.runners.push(createStatelessRunner(stage, this.ctx, this.collector));
      } else if (options.connectorStage) {
        this.runners.push(options.connectorStage(stage, this.ctx, this.collector));
      } else {
        throw new Error(
          `${stage.path}: the ${stage.kind} stage needs a connector that this runtime does not have yet`,
        );
      }
    });
    this.window = window;
    this.windowIndex = windowIndex;
    this.sinkOp = this.collector.operator(options.sink.operatorName);
    this.writes = new WritePipeline(
      (parts) => this.write(parts),
      options.maxDocsPerWrite ?? DEFAULT_MAX_DOCS_PER_WRITE,
      (part) => options.sink.prepare?.(part.docs),
    );
    const resume = options.resumeFrom;
    const state = resume?.operatorState;
    this.replay = new ReplayIds(plan.name, state?.replay as Doc | undefined, this.clock.now());
    this.replayableTimes = plan.source.timeField !== undefined || options.source.timestampIsReadTime !== true;
    if (resume) {
      this.restoreOperators(state ?? {});
      if (resume.stats) this.collector.restoreCheckpoint(resume.stats);
      this.nextCheckpointId = resume.id + 1;
      this.positions = resume.sourcePositions;
      this.lastCheckpointAt = this.clock.now();
    }
  }

  /**
   * Runs until a finite source drains or `stop()` is called; returns the final stats. Both end with a
   * checkpoint (when a store is configured); a failure throws without one.
   */
  async run(): Promise<ProcessorStats> {
    const { source } = this.options;
    await source.start();
    if (!this.options.resumeFrom) await this.saveStartingPoint();
    this.collector.status = "running";
    this.options.onRunning?.();
    this.lastInputWall = this.clock.now();
    const ahead = Math.max(1, this.options.maxBatchesAhead ?? 2);
    const queue: Promise<ReadBatch | undefined>[] = [];
    // Positions are taken right after each read, so batches read ahead are never in a checkpoint.
    const read = async (): Promise<ReadBatch | undefined> => {
      const batch = await source.next();
      return batch === undefined ? undefined : { batch, positions: source.positions() };
    };
    let tail: Promise<ReadBatch | undefined> = Promise.resolve({ batch: { records: [] }, positions: {} });
    let drained = false;
    try {
      while (!this.stopped) {
        while (queue.length < ahead && !drained) {
          // Each read starts after the previous one resolves, so sources never see concurrent next() calls.
          tail = tail.then((previous) => (previous === undefined ? undefined : read()));
          queue.push(tail);
        }
        const reading = queue.shift() as Promise<ReadBatch | undefined>;
        // A stop does not wait for a source that reads again what it was not asked to hand over (a quiet
        // change stream holds its poll up to maxAwaitTimeMS): that batch is not handled, nor in the final
        // checkpoint.
        const next = this.options.source.rereadsUnhandledRecords
          ? await this.readOrStop(reading)
          : await reading;
        if (next === STOPPED) {
          queue.unshift(reading); // settled in `finally`
          break;
        }
        if (next === undefined) {
          drained = true;
          await this.endOfInput();
          // The flushed windows are gone: a checkpoint still holding them would emit them again.
          if (this.window) this.dirty = true;
          break;
        }
        const quiet = next.batch.records.length === 0;
        await this.handleBatch(next.batch);
        // Nothing to overlap while the source is quiet: a failed write surfaces now, not at the next checkpoint.
        if (quiet) await this.writesSettled();
        if (this.window) checkStateLimit(this.window.stateSize(), this.options.maxStateBytes);
        this.positions = next.positions;
        this.dirty = true;
        if (
          this.clock.now() - this.lastCheckpointAt >= this.checkpointIntervalMs ||
          this.options.sink.commitDue?.() ||
          source.checkpointDue?.()
        )
          await this.checkpoint();
      }
      // Graceful stop or end of input: everything processed so far is written, so record where that was.
      await this.writesSettled();
      await this.flushDlq(); // the last write's per-document failures
      if (this.dirty) await this.checkpoint();
      await this.writesSettled(); // the final checkpoint's commit
    } catch (error) {
      this.collector.status = "error";
      throw error;
    } finally {
      await source.close();
      await Promise.allSettled([...queue, this.writes.idle()]);
    }
    this.collector.status = "stopped";
    return this.stats({ verbose: true });
  }

  /** Asks the processor to stop after the batch in progress (a final checkpoint follows). */
  stop(): void {
    this.stopped = true;
    this.wakeOnStop?.();
  }

  /**
   * `reading`, or STOPPED as soon as `stop()` is called. Not `Promise.race` with one promise resolved at
   * stop: each race leaves a reaction on that promise holding its result, so every batch read would stay
   * in memory until the run ends.
   */
  private readOrStop(
    reading: Promise<ReadBatch | undefined>,
  ): Promise<ReadBatch | undefined | typeof STOPPED> {
    if (this.stopped) return Promise.resolve(STOPPED);
    return new Promise<ReadBatch | undefined | typeof STOPPED>((resolve, reject) => {
      this.wakeOnStop = () => resolve(STOPPED);
      reading.then(resolve, reject);
    }).finally(() => (this.wakeOnStop = undefined));
  }

  /** Output documents this run produced that the sink did not accept (after a failed write: those lost with it). */
  unwrittenCount(): number {
    return this.unwritten;
  }

  private get checkpointIntervalMs(): number {
    return this.options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
  }

  /**
   * The barrier: runs between batches, when every output of the batches up to `positions` has been
   * written to the sink and every dead letter to the DLQ. Saves the checkpoint, then lets the source
   * acknowledge the positions (never before: an acknowledged event is never replayed).
   */
  private async checkpoint(): Promise<void> {
    const store = this.options.checkpoints;
    const positions = this.positions;
    const { sink } = this.options;
    if (positions === undefined || (!store && !sink.commit)) return;
    // The positions cover the last batch handled, whose write may still be in flight.
    await this.writesSettled();
    const startedAt = performance.now();
    await this.flushDlq();
    await sink.flush?.();
    if (!store) {
      // Nothing to save, but an exactly-once sink still shows its output only when it commits.
      this.lastCheckpointAt = this.clock.now();
      this.dirty = false;
      if (sink.commit) this.commitInFlight(sink.commit(newCommitMarker(), positions));
      return;
    }
    const marker = sink.commit ? newCommitMarker() : undefined;
    const checkpoint: Checkpoint = {
      id: this.nextCheckpointId,
      createdAt: this.clock.now(),
      sourcePositions: positions,
      operatorState: this.operatorState(),
      stats: this.collector.toCheckpoint(),
      ...(marker === undefined ? {} : { commitMarker: marker }),
    };
    await store.save(checkpoint);
    this.nextCheckpointId++;
    this.lastCheckpointAt = this.clock.now();
    this.dirty = false;
    const completed = async () => {
      // Two-phase: the checkpoint is saved first, then the sink commits its marker with the output; after
      // a crash in between, the marker tells the checkpoint store which of its last two checkpoints counts.
      if (marker !== undefined) await sink.commit?.(marker, positions);
      const durationMillis = Math.round((performance.now() - startedAt) * 100) / 100;
      const info: CheckpointInfo = {
        id: checkpoint.id,
        durationMillis,
        sizeBytes: safeSize(checkpoint as unknown as Doc),
        at: new Date(checkpoint.createdAt),
      };
      this.collector.lastCheckpoint = info;
      this.options.onCheckpoint?.(info);
      await this.options.source.acknowledge?.(positions);
    };
    if (marker === undefined) await completed();
    else this.commitInFlight(completed());
  }

  /**
   * A sink's commit (and what follows it: the acknowledgement) runs while the runtime reads and runs the
   * next batch, as a write does: the next write, checkpoint or end of run waits for it (`writesSettled`)
   * and throws its failure, so no output is written into the committed transaction and nothing is
   * acknowledged before its commit.
   */
  private commitInFlight(committing: Promise<void>): void {
    this.writes.hold(committing);
  }

  /**
   * A fresh start saves checkpoint 0 (where the source starts, and the replay run id) before anything is
   * read: a run killed before its first real checkpoint is replayed with the same derived `_id`s, so its
   * `$merge` writes are overwritten instead of duplicated. It is not acknowledged (nothing was read).
   */
  private async saveStartingPoint(): Promise<void> {
    const store = this.options.checkpoints;
    if (!store) return;
    await store.save({
      id: 0,
      createdAt: this.clock.now(),
      sourcePositions: this.options.source.positions(),
      operatorState: this.operatorState(),
      stats: this.collector.toCheckpoint(),
    });
  }

  /** State of every stateful operator, BSON/EJSON-serialisable. */
  private operatorState(): Doc {
    const state: Doc = { replay: this.replay.snapshot() };
    if (this.window) {
      state.window = encodeState(this.window.snapshot());
      state.watermark = encodeState(this.tracker.snapshot());
    }
    return state;
  }

  private restoreOperators(state: Doc): void {
    if (!this.window) return;
    if (state.window !== undefined) this.window.restore(decodeState(state.window as Doc) as Doc);
    // Partitions count as just seen: the time the processor was down must not make them look idle.
    if (state.watermark !== undefined)
      this.tracker.restore(decodeState(state.watermark as Doc) as Doc, { wallNow: this.clock.now() });
  }

  stats(options: { verbose?: boolean; scale?: number } = {}): ProcessorStats {
    const stateSize = this.window?.stateSize() ?? 0;
    if (this.window) this.window.stats.stateSize = stateSize;
    const stats = this.collector.snapshot({ stateSize, watermark: this.window?.watermark }, options);
    const lag = this.options.source.lag?.();
    return lag ? { ...stats, ...lag } : stats;
  }

  /** Window state right now: open windows, keys or buffered documents, bytes. */
  windowState(): { openWindows: number; entries: number; bytes: number } {
    if (!this.window) return { openWindows: 0, entries: 0, bytes: 0 };
    return { ...this.window.stateSummary(), bytes: this.window.stateSize() };
  }

  private async handleBatch(batch: SourceBatch): Promise<void> {
    const startedAt = performance.now();
    const wallNow = this.clock.now();
    const assigned = this.options.source.partitions?.();
    if (assigned) this.tracker.assign(assigned, wallNow);
    if (batch.records.length === 0) {
      if (!this.window) return;
      this.tracker.refresh(wallNow, batch.idlePartitions);
      if (batch.watermark !== undefined) this.tracker.advanceTo(batch.watermark);
      const out = this.window.advance(this.tracker.current);
      for (const item of this.window.idle(wallNow - this.lastInputWall)) out.push(item);
      for (const item of this.window.tick()) out.push(item);
      await this.runFrom(this.windowIndex + 1, out, startedAt);
      await this.flushDlq();
      return;
    }
    this.lastInputWall = wallNow;
    this.collector.lastMessageIn = wallNow;
    if (batch.idlePartitions) this.tracker.refresh(wallNow, batch.idlePartitions);
    const items = this.ingest(batch, wallNow);
    batch.records.length = 0; // see SourceBatch.records
    if (batch.watermark !== undefined) this.tracker.advanceTo(batch.watermark);
    await this.runFrom(0, items, startedAt);
    if (this.window)
      await this.runFrom(this.windowIndex + 1, this.window.advance(this.tracker.current), startedAt);
    await this.flushDlq();
  }

  /** The source operator: `_ts`, `_stream_meta.source`, event time, timeField failures, watermarks. */
  private ingest(batch: SourceBatch, wallNow: number): Item[] {
    const { source } = this.options;
    const { timeField, tsFieldName } = this.plan.source;
    const op = this.sourceOp;
    const items: Item[] = [];
    // `$$NOW` is one instant per batch, so every document of a batch sees the same time.
    const vars: Vars = Object.freeze({ NOW: new Date(wallNow) });
    for (const record of batch.records) {
      const origin = this.replay.inputOrigin(record.partition);
      this.collector.inputMessageCount++;
      this.collector.inputMessageSize += record.size;
      op.inputMessageCount++;
      op.inputMessageSize += record.size;
      // A fresh object per document: stages may copy-and-modify it, and nothing may leak between documents.
      const streamMeta = { source: sourceMeta(source.type, record.meta) };
      if (record.error || record.doc === undefined) {
        this.deadLetter(
          operatorErrorRecord({
            streamMeta,
            reason: `Failed to process input document with error: ${record.error?.message ?? "no document"}`,
            operatorName: source.operatorName,
            doc: record.error?.raw,
            processorName: this.plan.name,
            now: wallNow,
          }),
          op,
        );
        continue;
      }
      const doc = record.doc;
      const existing = doc._stream_meta;
      const meta =
        existing !== null && typeof existing === "object" && !Array.isArray(existing)
          ? { ...(existing as Doc), ...streamMeta }
          : streamMeta;
      let eventTime = record.timestamp;
      if (timeField) {
        let value: unknown;
        let error: unknown;
        try {
          value = timeField(doc, vars);
          if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
            error = new MqlRuntimeError(
              "timeField",
              "$source.timeField",
              `timeField must evaluate to a date, but it evaluated to ${bsonTypeOf(value)}`,
            );
          }
        } catch (thrown) {
          error = thrown;
        }
        if (error !== undefined) {
          doc._stream_meta = meta;
          failDocument(this.ctx, op, { doc, vars: vars, eventTime, watermarkBefore: 0 }, error);
          continue;
        }
        eventTime = (value as Date).getTime();
      }
      doc[tsFieldName] = new Date(eventTime);
      doc._stream_meta = meta;
      const watermarkBefore = this.tracker.current;
      this.tracker.observe(record.partition, eventTime, wallNow);
      items.push({ doc, vars: vars, eventTime, watermarkBefore, origin });
    }
    op.outputMessageCount += items.length;
    return items;
  }

  private async runFrom(index: number, input: Item[], startedAt: number): Promise<void> {
    let items = input;
    if (index === this.windowIndex + 1 && this.window) this.stampWindowResults(items);
    for (let i = index; i < this.runners.length && items.length > 0; i++) {
      const runner = this.runners[i];
      const op = runner.stats;
      op.inputMessageCount += items.length;
      const t0 = performance.now();
      items = await runner.process(items);
      op.executionTimeMillis += performance.now() - t0;
      op.outputMessageCount += items.length;
      if (i === this.windowIndex) this.stampWindowResults(items);
    }
    if (items.length > 0) await this.deliver(items, startedAt);
  }

  /** Window results are new documents: their origin is their place in closing order. */
  private stampWindowResults(items: Item[]): void {
    for (const item of items) item.origin = this.replay.windowOrigin();
  }

  /** Deterministic ids for the sink (`idFor`), computed only when the sink asks. */
  private writeContext(
    items: readonly Item[],
    parts: readonly (readonly Doc[])[] | undefined,
  ): SinkWriteContext {
    let ordinals: number[] | undefined;
    return {
      ...(parts === undefined ? {} : { parts }),
      idFor: (index) => {
        if (!ordinals) {
          const seen = new Map<string | undefined, number>();
          ordinals = items.map((item) => {
            const n = seen.get(item.origin) ?? 0;
            seen.set(item.origin, n + 1);
            return n;
          });
        }
        const item = items[index];
        const time = this.replayableTimes ? item.eventTime : this.replay.startedAt;
        return this.replay.idFor(item.origin ?? "", ordinals[index], time);
      },
    };
  }

  /**
   * Hands `items` to the sink writes and returns without waiting for the sink (unless the next write is
   * full): the runtime reads and runs the next batch while the sink waits for its server, and what it
   * produces meanwhile goes out with the next write (write-pipeline.ts). Writes stay strictly sequential
   * (order, and a retried write can never overtake a later one); a write's failure surfaces at the next
   * delivery, checkpoint or end of run, and every checkpoint waits for all of them, so no position is
   * saved or acknowledged before its output is written.
   */
  private async deliver(items: Item[], startedAt: number): Promise<void> {
    const docs = items.map((item) => item.doc);
    this.unwritten += docs.length;
    await this.writes.deliver({ items, docs, startedAt });
  }

  /** Waits for every write delivered so far (and a commit in flight); throws the first failure. */
  private async writesSettled(): Promise<void> {
    await this.writes.settled();
  }

  private async write(parts: readonly WritePart[]): Promise<void> {
    const single = parts.length === 1;
    const docs = single ? parts[0].docs : parts.flatMap((part) => part.docs);
    const items = single ? parts[0].items : parts.flatMap((part) => part.items);
    const context = this.writeContext(items, single ? undefined : parts.map((part) => part.docs));
    const op = this.sinkOp;
    op.inputMessageCount += docs.length;
    const t0 = performance.now();
    const result = await this.options.sink.write(docs, context);
    this.unwritten -= docs.length;
    const done = performance.now();
    op.executionTimeMillis += done - t0;
    const failed = result.failures?.length ?? 0;
    for (const failure of result.failures ?? []) {
      const doc = docs[failure.index];
      this.deadLetter(
        operatorErrorRecord({
          streamMeta: doc._stream_meta,
          reason: operatorFailureReason(op.name, failure.message),
          operatorName: op.name,
          doc,
          processorName: this.plan.name,
          now: this.clock.now(),
          attempts: failure.attempts,
        }),
        op,
      );
    }
    const written = docs.length - failed;
    op.outputMessageCount += written;
    op.outputMessageSize += result.bytes;
    this.collector.outputMessageCount += written;
    this.collector.outputMessageSize += result.bytes;
    this.recordLatency(parts, result.failures, done);
    if (this.options.onOutput) {
      const failedAt = new Set(result.failures?.map((f) => f.index));
      this.options.onOutput(failed === 0 ? docs : docs.filter((_, i) => !failedAt.has(i)));
    }
    emptyWritten(parts);
  }

  /** Each part's written documents took from the start of its batch until the write was acknowledged. */
  private recordLatency(
    parts: readonly WritePart[],
    failures: readonly SinkFailure[] | undefined,
    done: number,
  ) {
    let start = 0;
    for (const part of parts) {
      const end = start + part.docs.length;
      const failed = failures?.filter((f) => f.index >= start && f.index < end).length ?? 0;
      this.collector.latency.record((done - part.startedAt) * 1000, part.docs.length - failed);
      start = end;
    }
  }

  private async endOfInput(): Promise<void> {
    if (this.window) await this.runFrom(this.windowIndex + 1, this.window.flush(), performance.now());
    await this.flushDlq();
  }

  private deadLetter(record: Doc, operator: OperatorStats): void {
    const size = safeSize(record);
    operator.dlqMessageCount++;
    operator.dlqMessageSize += size;
    this.collector.dlqMessageCount++;
    this.collector.dlqMessageSize += size;
    this.pendingDlq.push(record);
  }

  private async flushDlq(): Promise<void> {
    if (this.pendingDlq.length === 0) return;
    const records = this.pendingDlq;
    this.pendingDlq = [];
    this.options.onDeadLetters?.(records);
    if (this.options.dlq) await this.options.dlq.write(records);
  }
}

/**
 * Empties the arrays of the parts just written, as `handleBatch` empties a batch's records: an array that
 * lived through a scavenge (old) would keep the documents and items it points at alive through every
 * scavenge until the next full collection, where they are copied and then promoted.
 */
function emptyWritten(parts: readonly WritePart[]): void {
  for (const part of parts) {
    (part.items as Item[]).length = 0;
    (part.docs as Doc[]).length = 0;
  }
}

/** `_stream_meta.source`: the record's own object when the source already put `type` first in it. */
function sourceMeta(type: string, meta: Doc | undefined): Doc {
  if (meta === undefined) return { type };
  return meta.type === type ? meta : { type, ...meta };
}

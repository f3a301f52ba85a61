import { performance } from "node:perf_hooks";
import { bsonTypeOf, MqlRuntimeError, type Doc, type Vars } from "../mql/index.ts";
import type { ConnectorStagePlan, ProcessorPlan } from "../pipeline/plan.ts";
import { failDocument, type RunContext } from "./context.ts";
import { operatorErrorRecord, operatorFailureReason, safeSize, type DlqWriter } from "./dlq.ts";
import type { Sink } from "./sink.ts";
import type { Source, SourceBatch } from "./source.ts";
import { createStatelessRunner, isStatelessStage, type StageRunner } from "./stages.ts";
import { StatsCollector, type OperatorStats, type ProcessorStats } from "./stats.ts";
import { systemClock, type Clock, type Item } from "./types.ts";
import { WatermarkTracker } from "./watermark.ts";
import { createWindowRunner, type WindowRunner } from "./windows/index.ts";

export interface RuntimeOptions {
  readonly source: Source;
  /** The resolved sink (`plan.sink`'s connector, or stdout for an ephemeral processor). */
  readonly sink: Sink;
  /** Without one, dead-letter records are dropped but still counted. */
  readonly dlq?: DlqWriter;
  readonly clock?: Clock;
  /** How many batches the source may be read ahead of processing (back-pressure bound). Default 2. */
  readonly maxBatchesAhead?: number;
  /** Builds runners for connector-backed stages (`$lookup`, `$https`…). */
  readonly connectorStage?: (
    stage: ConnectorStagePlan,
    ctx: RunContext,
    stats: StatsCollector,
  ) => StageRunner;
  /** Called after each batch with the outputs written (the demo prints them). */
  readonly onOutput?: (docs: readonly Doc[]) => void;
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
  private lastInputWall = 0;

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
    this.tracker = new WatermarkTracker(
      plan.source.kind === "kafka" ? plan.source.partitionIdleTimeoutMs : undefined,
    );
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
  }

  /** Runs until a finite source drains or `stop()` is called; returns the final stats. */
  async run(): Promise<ProcessorStats> {
    const { source } = this.options;
    await source.start();
    this.collector.status = "running";
    this.lastInputWall = this.clock.now();
    const ahead = Math.max(1, this.options.maxBatchesAhead ?? 2);
    const queue: Promise<SourceBatch | undefined>[] = [];
    let tail: Promise<SourceBatch | undefined> = Promise.resolve({ records: [] });
    let drained = false;
    try {
      while (!this.stopped) {
        while (queue.length < ahead && !drained) {
          // Each read starts after the previous one resolves, so sources never see concurrent next() calls.
          tail = tail.then((previous) => (previous === undefined ? undefined : source.next()));
          queue.push(tail);
        }
        const batch = await queue.shift();
        if (batch === undefined) {
          drained = true;
          await this.endOfInput();
          break;
        }
        await this.handleBatch(batch);
      }
    } catch (error) {
      this.collector.status = "error";
      throw error;
    } finally {
      await source.close();
    }
    await Promise.allSettled(queue);
    this.collector.status = "stopped";
    return this.stats({ verbose: true });
  }

  /** Asks the processor to stop after the batch in progress. */
  stop(): void {
    this.stopped = true;
  }

  stats(options: { verbose?: boolean; scale?: number } = {}): ProcessorStats {
    const stateSize = this.window?.stateSize() ?? 0;
    if (this.window) this.window.stats.stateSize = stateSize;
    return this.collector.snapshot({ stateSize, watermark: this.window?.watermark }, options);
  }

  /** Window state right now: open windows, keys or buffered documents, bytes. */
  windowState(): { openWindows: number; entries: number; bytes: number } {
    if (!this.window) return { openWindows: 0, entries: 0, bytes: 0 };
    return { ...this.window.stateSummary(), bytes: this.window.stateSize() };
  }

  private async handleBatch(batch: SourceBatch): Promise<void> {
    const startedAt = performance.now();
    const wallNow = this.clock.now();
    if (batch.records.length === 0) {
      if (!this.window) return;
      this.tracker.refresh(wallNow, batch.idlePartitions);
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
      this.collector.inputMessageCount++;
      this.collector.inputMessageSize += record.size;
      op.inputMessageCount++;
      op.inputMessageSize += record.size;
      // A fresh object per document: stages may copy-and-modify it, and nothing may leak between documents.
      const streamMeta = {
        source: record.meta ? { type: source.type, ...record.meta } : { type: source.type },
      };
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
      items.push({ doc, vars: vars, eventTime, watermarkBefore });
    }
    op.outputMessageCount += items.length;
    return items;
  }

  private async runFrom(index: number, input: Item[], startedAt: number): Promise<void> {
    let items = input;
    for (let i = index; i < this.runners.length && items.length > 0; i++) {
      const runner = this.runners[i];
      const op = runner.stats;
      op.inputMessageCount += items.length;
      const t0 = performance.now();
      items = await runner.process(items);
      op.executionTimeMillis += performance.now() - t0;
      op.outputMessageCount += items.length;
    }
    if (items.length > 0) await this.deliver(items, startedAt);
  }

  private async deliver(items: Item[], startedAt: number): Promise<void> {
    const docs = items.map((item) => item.doc);
    const op = this.sinkOp;
    op.inputMessageCount += docs.length;
    const t0 = performance.now();
    const result = await this.options.sink.write(docs);
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
        }),
        op,
      );
    }
    const written = docs.length - failed;
    op.outputMessageCount += written;
    op.outputMessageSize += result.bytes;
    this.collector.outputMessageCount += written;
    this.collector.outputMessageSize += result.bytes;
    this.collector.latency.record((done - startedAt) * 1000, written);
    if (this.options.onOutput)
      this.options.onOutput(
        failed === 0 ? docs : docs.filter((_, i) => !result.failures?.some((f) => f.index === i)),
      );
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
    if (this.options.dlq) await this.options.dlq.write(records);
  }
}

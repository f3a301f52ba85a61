import { EJSON } from "bson";
import { expect } from "vitest";
import type { Doc, Vars } from "../../../src/mql/index.ts";
import { catalogOf, planProcessor } from "../../../src/pipeline/index.ts";
import type { ProcessorPlan, WindowPlan } from "../../../src/pipeline/plan.ts";
import type { RunContext } from "../../../src/runtime/context.ts";
import { decodeState, encodeState } from "../../../src/runtime/state-codec.ts";
import { StatsCollector } from "../../../src/runtime/stats.ts";
import type { Item } from "../../../src/runtime/types.ts";
import { WatermarkTracker } from "../../../src/runtime/watermark.ts";
import { createWindowRunner, type WindowRunner } from "../../../src/runtime/windows/index.ts";
import { FakeClock } from "../helpers.ts";
import { differenceBetween } from "./same-value.ts";
import { CONNECTORS } from "../../../src/connectors/registry.ts";

/** Plans `$source` (documents, event time = `t` in epoch ms) followed by one window stage, via the real planner. */
export function planWindow(windowStage: Doc): ProcessorPlan {
  return planProcessor(
    {
      name: "snap",
      pipeline: [{ $source: { documents: [], timeField: { $toDate: "$t" } } }, windowStage],
    },
    { connectors: CONNECTORS, connections: catalogOf(), ephemeral: true },
  );
}

/** One step of a driven stream: a batch of records, or an idle poll; `advance` moves the wall clock first. */
export type DriveStep =
  | { readonly records: readonly { doc: Doc; partition: number }[]; readonly advance: number }
  | { readonly idle: true; readonly idlePartitions?: readonly number[]; readonly advance: number };

/**
 * Drives a window runner and a watermark tracker the way `ProcessorRuntime` does for a pipeline whose first
 * stage is the window (source operator: `_ts`, `_stream_meta`, watermark before each document; after each
 * batch `advance(watermark)`; on idle polls `refresh` + `advance` + `idle` + `tick`), collecting outputs and
 * DLQ records. Its snapshot is what a checkpoint holds for it: tracker, window and the last input time.
 */
export class WindowDriver {
  readonly output: Doc[] = [];
  readonly dlq: Doc[] = [];
  readonly runner: WindowRunner;
  readonly tracker: WatermarkTracker;
  private readonly plan: ProcessorPlan;
  private readonly clock: FakeClock;
  private lastInputWall: number;

  constructor(plan: ProcessorPlan, clock: FakeClock, partitionIdleTimeoutMs?: number) {
    this.plan = plan;
    this.clock = clock;
    this.lastInputWall = clock.now();
    const stage = plan.stages[0];
    if (stage?.kind !== "window") throw new Error("planWindow() plans start with the window stage");
    const ctx: RunContext = {
      processorName: plan.name,
      clock,
      deadLetter: (record) => this.dlq.push(record),
    };
    this.runner = createWindowRunner(stage.window, stage.operatorName, {
      ctx,
      stats: new StatsCollector(plan.name),
      sourceType: "generated",
    });
    this.tracker = new WatermarkTracker(partitionIdleTimeoutMs);
  }

  get window(): WindowPlan {
    return (this.plan.stages[0] as { window: WindowPlan }).window;
  }

  step(step: DriveStep): void {
    this.clock.t += step.advance;
    const wallNow = this.clock.now();
    if ("idle" in step) {
      this.tracker.refresh(wallNow, step.idlePartitions);
      this.emit(this.runner.advance(this.tracker.current));
      this.emit(this.runner.idle(wallNow - this.lastInputWall));
      this.emit(this.runner.tick());
      return;
    }
    this.lastInputWall = wallNow;
    const vars: Vars = Object.freeze({ NOW: new Date(wallNow) });
    const items: Item[] = [];
    const timeField = this.plan.source.timeField;
    for (const record of step.records) {
      const doc: Doc = { ...record.doc };
      const eventTime = timeField ? (timeField(doc, vars) as Date).getTime() : wallNow;
      doc._ts = new Date(eventTime);
      doc._stream_meta = { source: { type: "generated" } };
      const watermarkBefore = this.tracker.current;
      this.tracker.observe(record.partition, eventTime, wallNow);
      items.push({ doc, vars, eventTime, watermarkBefore });
    }
    if (items.length > 0) this.emit(this.runner.process(items));
    this.emit(this.runner.advance(this.tracker.current));
  }

  flush(): void {
    this.emit(this.runner.flush());
  }

  snapshot(): Doc {
    return {
      tracker: this.tracker.snapshot(),
      window: this.runner.snapshot(),
      lastInputWall: this.lastInputWall,
    };
  }

  restore(state: Doc): void {
    this.tracker.restore(state.tracker as Doc);
    this.runner.restore(state.window as Doc);
    this.lastInputWall = state.lastInputWall as number;
  }

  private emit(items: readonly Item[]): void {
    for (const item of items) this.output.push(item.doc);
  }
}

/** A snapshot as a checkpoint stores it in the file store: encoded, canonical EJSON text, parsed, decoded. */
export function throughEjsonText(snapshot: Doc): Doc {
  const text = EJSON.stringify(encodeState(snapshot), { relaxed: false });
  return decodeState(EJSON.parse(text, { relaxed: false }) as Doc) as Doc;
}

/**
 * Runs `steps` uninterrupted, and again cut after `cut` steps: snapshot → encode → EJSON text → decode →
 * restore into a fresh driver → the rest. Both runs end with a flush (a finite source draining), and must
 * produce the same outputs and DLQ records, in the same order, with the same BSON types.
 */
export function expectSameAfterRestore(
  plan: () => ProcessorPlan,
  steps: readonly DriveStep[],
  cut: number,
  options: { partitionIdleTimeoutMs?: number; startWall?: number } = {},
): { whole: WindowDriver; resumed: WindowDriver } {
  const start = options.startWall ?? 1_000_000;
  const whole = new WindowDriver(plan(), new FakeClock(start), options.partitionIdleTimeoutMs);
  for (const step of steps) whole.step(step);
  whole.flush();

  const clock = new FakeClock(start);
  const first = new WindowDriver(plan(), clock, options.partitionIdleTimeoutMs);
  for (const step of steps.slice(0, cut)) first.step(step);
  const stored = throughEjsonText(first.snapshot());
  const resumed = new WindowDriver(plan(), clock, options.partitionIdleTimeoutMs);
  resumed.restore(stored);
  expect(resumed.runner.stateSize()).toBe(first.runner.stateSize());
  expect(resumed.runner.stateSummary()).toEqual(first.runner.stateSummary());
  expect(resumed.runner.watermark).toBe(first.runner.watermark);
  for (const step of steps.slice(cut)) resumed.step(step);
  resumed.flush();

  const output = [...first.output, ...resumed.output];
  const dlq = [...first.dlq, ...resumed.dlq];
  const outputDifference = differenceBetween(whole.output, output);
  if (outputDifference) throw new Error(`outputs differ after restore at step ${cut}: ${outputDifference}`);
  const dlqDifference = differenceBetween(whole.dlq, dlq);
  if (dlqDifference) throw new Error(`DLQ records differ after restore at step ${cut}: ${dlqDifference}`);
  expect(whole.runner.stateSize()).toBe(0);
  expect(resumed.runner.stateSummary()).toEqual({ openWindows: 0, entries: 0 });
  return { whole, resumed };
}

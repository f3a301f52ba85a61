import type { WindowPlan } from "../../pipeline/plan.ts";
import type { RunContext } from "../context.ts";
import type { StageRunner } from "../stages.ts";
import type { OperatorStats } from "../stats.ts";
import type { Item } from "../types.ts";
import type { InnerPipeline } from "./inner-pipeline.ts";

/** A window operator: a stage that also reacts to watermarks, idleness and end of input. */
export interface WindowRunner extends StageRunner {
  /** Current watermark (epoch ms), -Infinity before the first document. */
  readonly watermark: number;
  process(items: Item[]): Item[];
  /** Moves the watermark forward and returns results of the windows that closed. */
  advance(watermark: number): Item[];
  /** The source has been idle for `idleMs` of wall-clock time (idleTimeout). */
  idle(idleMs: number): Item[];
  /** Wall-clock tick (processing-time windows close on it). */
  tick(): Item[];
  /** Closes every open window (a finite source ended). */
  flush(): Item[];
  stateSize(): number;
  /** Open windows and the group keys / buffered documents they hold (diagnostics, benchmarks). */
  stateSummary(): { openWindows: number; entries: number };
}

/**
 * Watermark bookkeeping shared by the time and session window runners: windows ending at or before
 * `closedThrough` (watermark − allowedLateness) are closed; `nextEnd` lets `advance` skip the scan.
 */
export abstract class ClosingWindowRunner implements WindowRunner {
  readonly stats: OperatorStats;
  watermark = -Infinity;
  protected readonly plan: WindowPlan;
  protected readonly inner: InnerPipeline;
  protected readonly ctx: RunContext;
  /** Every window with end ≤ this is closed (watermark − allowedLateness, or forced by idleness). */
  protected closedThrough = -Infinity;
  /** Smallest end among open windows (may be stale-low; `closeDue` rescans). */
  protected nextEnd = Infinity;

  constructor(plan: WindowPlan, inner: InnerPipeline, ctx: RunContext, stats: OperatorStats) {
    this.plan = plan;
    this.inner = inner;
    this.ctx = ctx;
    this.stats = stats;
  }

  advance(watermark: number): Item[] {
    if (!(watermark > this.watermark)) return [];
    this.watermark = watermark;
    const limit = watermark - this.plan.allowedLatenessMs;
    if (limit > this.closedThrough) this.closedThrough = limit;
    if (this.nextEnd > this.closedThrough) return [];
    return this.closeDue();
  }

  /** Closes the windows that end at or before `closedThrough` and returns their results. */
  protected abstract closeDue(): Item[];
  abstract process(items: Item[]): Item[];
  abstract idle(idleMs: number): Item[];
  abstract tick(): Item[];
  abstract flush(): Item[];
  abstract stateSize(): number;
  abstract stateSummary(): { openWindows: number; entries: number };
}

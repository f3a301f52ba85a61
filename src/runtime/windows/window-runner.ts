import type { Doc } from "../../mql/index.ts";
import type { WindowPlan } from "../../pipeline/plan.ts";
import type { RunContext } from "../context.ts";
import type { StageRunner } from "../stages.ts";
import type { OperatorStats } from "../stats.ts";
import type { Item } from "../types.ts";
import type { InnerPipeline } from "./inner-pipeline.ts";
import { WindowStateMismatchError } from "./errors.ts";
import { ItemTableReader, ItemTableWriter } from "./item-table.ts";

const SNAPSHOT_VERSION = 1;

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
  /** Approximate bytes of open window state; maintained incrementally, cheap enough to check per batch. */
  stateSize(): number;
  /**
   * Everything needed to continue: open windows with their accumulator states or buffered documents, the
   * watermark and how far windows are closed (so emitted windows are never re-emitted). The result shares
   * the live state: pass it through `encodeState` (src/runtime/state-codec.ts) before feeding more input.
   */
  snapshot(): Doc;
  /** Loads a {@link snapshot} (after `decodeState`) into a freshly built runner for the same window plan. */
  restore(state: Doc): void;
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

  snapshot(): Doc {
    const items = new ItemTableWriter();
    const windows = this.snapshotWindows(items);
    return {
      version: SNAPSHOT_VERSION,
      window: this.describe(),
      watermark: this.watermark,
      closedThrough: this.closedThrough,
      windows,
      ...items.table(),
    };
  }

  restore(state: Doc): void {
    if (state.version !== SNAPSHOT_VERSION)
      throw new Error(`unsupported window snapshot version ${String(state.version)}`);
    if (state.window !== this.describe())
      throw new WindowStateMismatchError(String(state.window), this.describe());
    if (this.stateSummary().openWindows > 0) throw new Error("restore() needs a freshly built window runner");
    this.watermark = state.watermark as number;
    this.closedThrough = state.closedThrough as number;
    this.restoreWindows(state.windows as unknown[], new ItemTableReader(state));
  }

  /** The plan parameters state depends on, e.g. `$hoppingWindow interval 10000 ms hop 5000 ms …`. */
  private describe(): string {
    const p = this.plan;
    const shape =
      p.type === "session"
        ? `gap ${p.gapMs} ms`
        : `interval ${p.intervalMs} ms, hop ${p.hopMs} ms, offset ${p.offsetMs} ms`;
    return (
      `a ${p.type} window (${shape}, allowedLateness ${p.allowedLatenessMs} ms, ${p.boundary}) ` +
      `holding ${this.inner.describeContents()}`
    );
  }

  /** Open windows in a storable form (buffered documents go into `items`). */
  protected abstract snapshotWindows(items: ItemTableWriter): unknown[];
  /** Re-opens the windows of {@link snapshotWindows} and recomputes derived bookkeeping (`nextEnd`, sizes). */
  protected abstract restoreWindows(windows: readonly unknown[], items: ItemTableReader): void;

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

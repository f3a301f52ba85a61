import type { StageRunner } from "../stages.ts";
import type { Item } from "../types.ts";

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

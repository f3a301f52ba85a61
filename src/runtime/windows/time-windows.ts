import type { Doc } from "../../mql/index.ts";
import { lateRecord } from "../dlq.ts";
import type { Item } from "../types.ts";
import { windowStartsFor } from "./assign.ts";
import type { WindowContents } from "./inner-pipeline.ts";
import type { ItemTableReader, ItemTableWriter } from "./item-table.ts";
import { ClosingWindowRunner } from "./window-runner.ts";

interface OpenWindow {
  readonly start: number;
  readonly end: number;
  readonly contents: WindowContents;
}

/** `$tumblingWindow` and `$hoppingWindow` (docs/asp-semantics.md §4.2). */
export class TimeWindowRunner extends ClosingWindowRunner {
  private readonly windows = new Map<number, OpenWindow>();

  override process(items: Item[]): Item[] {
    const out: Item[] = [];
    const processingTime = this.plan.boundary === "processingTime";
    if (processingTime) pushAll(out, this.advance(this.ctx.clock.now() - 1));
    for (const item of items) {
      if (processingTime) item.eventTime = this.ctx.clock.now();
      else pushAll(out, this.advance(item.watermarkBefore));
      this.assign(item);
    }
    return out;
  }

  protected override closeDue(): Item[] {
    return this.closeWhere((w) => w.end <= this.closedThrough);
  }

  override idle(idleMs: number): Item[] {
    const timeout = this.plan.idleTimeoutMs;
    if (timeout === undefined || idleMs < timeout || this.windows.size === 0) return [];
    const watermark = this.watermark;
    return this.closeWhere((w) => w.end - watermark <= idleMs, true);
  }

  override tick(): Item[] {
    return this.plan.boundary === "processingTime" ? this.advance(this.ctx.clock.now() - 1) : [];
  }

  override flush(): Item[] {
    return this.closeWhere(() => true);
  }

  override stateSize(): number {
    let bytes = 0;
    for (const w of this.windows.values()) bytes += w.contents.stateSize();
    return bytes;
  }

  override stateSummary(): { openWindows: number; entries: number } {
    let entries = 0;
    for (const w of this.windows.values()) entries += w.contents.entryCount();
    return { openWindows: this.windows.size, entries };
  }

  protected override snapshotWindows(items: ItemTableWriter): unknown[] {
    const out: unknown[] = [];
    for (const w of this.windows.values()) out.push({ start: w.start, contents: w.contents.snapshot(items) });
    return out;
  }

  protected override restoreWindows(windows: readonly unknown[], items: ItemTableReader): void {
    for (const saved of windows as Doc[]) {
      const start = saved.start as number;
      const contents = this.inner.restoreContents(saved.contents as Doc, items);
      const window = { start, end: start + this.plan.intervalMs, contents };
      this.windows.set(start, window);
      if (window.end < this.nextEnd) this.nextEnd = window.end;
    }
  }

  private assign(item: Item): void {
    const t = item.eventTime;
    const { intervalMs, hopMs, offsetMs } = this.plan;
    const starts = windowStartsFor(t, intervalMs, hopMs, offsetMs);
    let open: number[] | undefined;
    let missed: number[] | undefined;
    for (const start of starts) {
      if (start + intervalMs <= this.closedThrough) (missed ??= []).push(start);
      else (open ??= []).push(start);
    }
    if (missed) {
      missed.sort((a, b) => a - b);
      this.ctx.deadLetter(
        lateRecord(item.doc, missed, this.ctx.processorName, this.ctx.clock.now()),
        this.stats,
      );
    }
    if (!open) {
      if (!missed) this.stats.filteredMessageCount++;
      return;
    }
    const entered = this.inner.enter([item]);
    for (const entry of entered) {
      const prepared = this.inner.prepare(entry);
      if (prepared === "failed") continue;
      for (const start of open) {
        let window = this.windows.get(start);
        if (!window) {
          window = { start, end: start + intervalMs, contents: this.inner.newContents() };
          this.windows.set(start, window);
          if (window.end < this.nextEnd) this.nextEnd = window.end;
        }
        window.contents.add(entry, prepared);
      }
    }
  }

  /** Closes matching windows in start order; idleness (`forced`) also moves the watermark to their end. */
  private closeWhere(shouldClose: (w: OpenWindow) => boolean, forced = false): Item[] {
    const closing = [...this.windows.values()].filter(shouldClose).sort((a, b) => a.start - b.start);
    const out: Item[] = [];
    for (const window of closing) {
      this.windows.delete(window.start);
      if (forced) {
        if (window.end > this.closedThrough) this.closedThrough = window.end;
        if (window.end > this.watermark) this.watermark = window.end;
      }
      pushAll(
        out,
        this.inner.closeWindow(
          window.contents,
          { start: new Date(window.start), end: new Date(window.end) },
          this.stats,
        ),
      );
    }
    this.nextEnd = Infinity;
    for (const w of this.windows.values()) if (w.end < this.nextEnd) this.nextEnd = w.end;
    return out;
  }
}

export function pushAll<T>(target: T[], source: readonly T[]): void {
  for (const value of source) target.push(value);
}

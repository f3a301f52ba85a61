import type { Doc, Evaluator } from "../../mql/index.ts";
import type { WindowPlan } from "../../pipeline/plan.ts";
import { failDocument, type RunContext } from "../context.ts";
import { lateRecord } from "../dlq.ts";
import type { OperatorStats } from "../stats.ts";
import type { Item } from "../types.ts";
import { BufferContents, type InnerPipeline } from "./inner-pipeline.ts";
import { groupKeyOf } from "../../mql/group-key.ts";
import { pushAll } from "./time-windows.ts";
import type { ItemTableReader, ItemTableWriter } from "./item-table.ts";
import { ClosingWindowRunner } from "./window-runner.ts";

interface Session {
  start: number;
  last: number;
  readonly partition: unknown;
  readonly contents: BufferContents;
}

/**
 * `$sessionWindow`: per `partitionBy` value, a session spans `[first event, last event + gap)`; a document
 * overlapping several sessions merges them. A session closes when `watermark − allowedLateness ≥ last + gap`.
 */
export class SessionWindowRunner extends ClosingWindowRunner {
  private readonly partitionBy: Evaluator;
  private readonly sessions = new Map<string, Session[]>();
  /** Totals over every open session, kept as sessions change so stats and limit checks never walk them. */
  private openSessions = 0;
  private entries = 0;
  private bytes = 0;

  constructor(plan: WindowPlan, inner: InnerPipeline, ctx: RunContext, stats: OperatorStats) {
    if (!plan.partitionBy) throw new Error("$sessionWindow plan without partitionBy");
    super(plan, inner, ctx, stats);
    this.partitionBy = plan.partitionBy;
  }

  override process(items: Item[]): Item[] {
    const out: Item[] = [];
    for (const item of items) {
      pushAll(out, this.advance(item.watermarkBefore));
      this.assign(item);
    }
    return out;
  }

  protected override closeDue(): Item[] {
    return this.closeWhere((s) => s.last + this.plan.gapMs <= this.closedThrough);
  }

  override idle(): Item[] {
    return [];
  }

  override tick(): Item[] {
    return [];
  }

  override flush(): Item[] {
    return this.closeWhere(() => true);
  }

  override stateSize(): number {
    return this.bytes;
  }

  override stateSummary(): { openWindows: number; entries: number } {
    return { openWindows: this.openSessions, entries: this.entries };
  }

  protected override snapshotWindows(items: ItemTableWriter): unknown[] {
    const out: unknown[] = [];
    for (const [key, list] of this.sessions) {
      out.push({
        key,
        sessions: list.map((s) => ({
          start: s.start,
          last: s.last,
          partition: s.partition,
          contents: s.contents.snapshot(items),
        })),
      });
    }
    return out;
  }

  protected override restoreWindows(windows: readonly unknown[], items: ItemTableReader): void {
    const gap = this.plan.gapMs;
    for (const saved of windows as Doc[]) {
      const list: Session[] = (saved.sessions as Doc[]).map((s) => ({
        start: s.start as number,
        last: s.last as number,
        partition: s.partition,
        contents: BufferContents.restore(s.contents as Doc, items, this.inner),
      }));
      this.sessions.set(saved.key as string, list);
      for (const s of list) {
        this.openSessions++;
        this.entries += s.contents.entryCount();
        this.bytes += s.contents.stateSize();
        if (s.last + gap < this.nextEnd) this.nextEnd = s.last + gap;
      }
    }
  }

  private assign(item: Item): void {
    let partition: unknown;
    try {
      partition = this.partitionBy(item.doc, item.vars);
    } catch (error) {
      failDocument(this.ctx, this.stats, item, error);
      return;
    }
    const key = groupKeyOf(partition);
    const gap = this.plan.gapMs;
    const t = item.eventTime;
    const list = this.sessions.get(key) ?? [];
    const overlapping = list.filter((s) => s.start < t + gap && t < s.last + gap);
    if (overlapping.length === 0 && t <= this.closedThrough) {
      this.ctx.deadLetter(
        lateRecord(item.doc, [t], this.ctx.processorName, this.ctx.clock.now()),
        this.stats,
      );
      return;
    }
    const entered = this.inner.enter([item]);
    if (entered.length === 0) return;
    let session: Session;
    if (overlapping.length === 0) {
      session = {
        start: t,
        last: t,
        partition: partition === undefined ? null : partition,
        contents: this.inner.newBufferContents(),
      };
      list.push(session);
      this.sessions.set(key, list);
      this.openSessions++;
    } else {
      session = overlapping[0];
      for (const other of overlapping.slice(1)) {
        session.start = Math.min(session.start, other.start);
        session.last = Math.max(session.last, other.last);
        session.contents.absorb(other.contents);
        list.splice(list.indexOf(other), 1);
        this.openSessions--;
      }
      session.start = Math.min(session.start, t);
      session.last = Math.max(session.last, t);
    }
    const bytesBefore = session.contents.stateSize();
    for (const entry of entered) session.contents.add(entry);
    this.bytes += session.contents.stateSize() - bytesBefore;
    this.entries += entered.length;
    if (session.last + gap < this.nextEnd) this.nextEnd = session.last + gap;
  }

  private closeWhere(shouldClose: (s: Session) => boolean): Item[] {
    const closing: Session[] = [];
    for (const [key, list] of this.sessions) {
      const keep = list.filter((s) => !shouldClose(s));
      for (const s of list) if (shouldClose(s)) closing.push(s);
      if (keep.length === 0) this.sessions.delete(key);
      else this.sessions.set(key, keep);
    }
    const gap = this.plan.gapMs;
    closing.sort((a, b) => a.last + gap - (b.last + gap) || a.start - b.start);
    const out: Item[] = [];
    for (const s of closing) {
      this.openSessions--;
      this.entries -= s.contents.entryCount();
      this.bytes -= s.contents.stateSize();
      pushAll(
        out,
        this.inner.closeWindow(
          s.contents,
          { start: new Date(s.start), end: new Date(s.last + gap), partition: s.partition },
          this.stats,
        ),
      );
    }
    this.nextEnd = Infinity;
    for (const list of this.sessions.values())
      for (const s of list) this.nextEnd = Math.min(this.nextEnd, s.last + gap);
    return out;
  }
}

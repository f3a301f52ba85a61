/**
 * The scheduled `$source` (an Eddy extension): at each firing of its cron expression it runs one query on a
 * MongoDB collection and hands over every matching document, `batchSize` at a time, then waits for the next
 * firing. The replacement for a scheduled trigger that sweeps unprocessed rows.
 *
 * Checkpoint position: the time of the last firing whose results were all handed over. After a restart a
 * firing missed while the processor was down runs at once (one run covering all the missed ones, with
 * `$$lastFiredAt` still the last completed one, so a time-window filter leaves no gap); a run interrupted
 * by a crash runs again (at least once, like every replay).
 */
import { bsonSize } from "../../codec/bson-size.ts";
import type { FindCursor, MongoClient } from "mongodb";
import type { Doc } from "../../mql/index.ts";
import { bindVariables } from "../mongodb/bind-variables.ts";
import { mongoFailure } from "../mongodb/errors.ts";
import { systemClock, type Clock, type Source, type SourceBatch } from "../../runtime/index.ts";
import { nextFiring, parseCron, type Cron } from "./cron.ts";
import type { ScheduledSourceOptions } from "./spec.ts";

export interface ScheduledSourceRunOptions {
  /** `lastFiredAt` (epoch ms) from a checkpoint. */
  readonly lastFiredAt?: number;
  readonly clock?: Clock;
  /** Waits `ms` (injectable so tests need no real timers). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Sources return an idle batch at least this often, so idle timers run. */
const IDLE_POLL_MS = 1000;
/** Firings stepped over at most when looking for the latest one due (a bound for odd schedules). */
const MAX_CATCH_UP_STEPS = 100_000;

export class ScheduledSource implements Source {
  readonly type = "scheduled";
  readonly operatorName = "ScheduledSourceOperator";
  private readonly client: MongoClient;
  private readonly options: ScheduledSourceOptions;
  private readonly clock: Clock;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly cron: Cron;
  private lastFiredAt: number | undefined;
  private startedAt = 0;
  private run: { readonly firedAt: number; readonly cursor: FindCursor<Doc> } | undefined;

  constructor(client: MongoClient, options: ScheduledSourceOptions, run: ScheduledSourceRunOptions = {}) {
    this.client = client;
    this.options = options;
    this.cron = parseCron(options.schedule);
    this.clock = run.clock ?? systemClock;
    this.sleep = run.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.lastFiredAt = run.lastFiredAt;
  }

  async start(): Promise<void> {
    this.startedAt = this.clock.now();
  }

  async next(): Promise<SourceBatch | undefined> {
    if (!this.run) {
      const due = await this.dueFiring();
      if (due === undefined) return { records: [], idle: true };
      this.run = { firedAt: due, cursor: this.query(due) };
    }
    const { firedAt, cursor } = this.run;
    const docs: Doc[] = [];
    let exhausted = false;
    try {
      while (docs.length < this.options.batchSize) {
        const doc = await cursor.tryNext();
        if (doc === null) {
          exhausted = true;
          break;
        }
        docs.push(doc);
        if (cursor.bufferedCount() === 0) break;
      }
    } catch (error) {
      this.run = undefined;
      await cursor.close().catch(() => undefined);
      throw mongoFailure(error, `scheduled $source query on ${this.options.db}.${this.options.coll} failed`);
    }
    if (exhausted) {
      // Everything this firing found is in this batch or before it: the checkpoint may move past it.
      this.run = undefined;
      this.lastFiredAt = firedAt;
      await cursor.close().catch(() => undefined);
      if (docs.length === 0) return { records: [], idle: true };
    }
    const meta = { firedAt: new Date(firedAt) };
    return {
      records: docs.map((doc) => ({
        doc,
        partition: 0,
        timestamp: firedAt,
        meta: { ...meta },
        size: bsonSize(doc),
      })),
    };
  }

  positions(): Doc {
    return this.lastFiredAt === undefined ? {} : { lastFiredAt: this.lastFiredAt };
  }

  async close(): Promise<void> {
    await this.run?.cursor.close().catch(() => undefined);
    this.run = undefined;
  }

  /**
   * The firing to run now, or undefined after waiting (at most {@link IDLE_POLL_MS}) for the next one. The
   * first firing is the first after the start, or, resuming from a checkpoint, the latest one due since it.
   */
  private async dueFiring(): Promise<number | undefined> {
    const now = this.clock.now();
    const after = this.lastFiredAt ?? this.startedAt;
    const due = latestFiringDue(this.cron, after, now);
    if (due !== undefined) return due;
    const upcoming = nextFiring(this.cron, Math.max(after, now));
    await this.sleep(upcoming === undefined ? IDLE_POLL_MS : Math.min(IDLE_POLL_MS, upcoming - now));
    return undefined;
  }

  private query(firedAt: number): FindCursor<Doc> {
    const { db, coll, filter, sort, batchSize } = this.options;
    const vars = { firedAt: new Date(firedAt), lastFiredAt: new Date(this.lastFiredAt ?? 0) };
    return this.client
      .db(db)
      .collection<Doc>(coll)
      .find(bindVariables(filter, vars, false) as Doc, { sort: sort as never, batchSize });
  }
}

/** Look-back windows for {@link latestFiringDue}: a minute, an hour, a day, a month, a year, any. */
const LOOK_BACK_MS = [60_000, 3_600_000, 86_400_000, 32 * 86_400_000, 366 * 86_400_000, Infinity];

/**
 * The latest firing in (`after`, `now`], or undefined. It searches growing windows back from `now`, so a
 * checkpoint from long ago costs a few steps rather than one per missed firing.
 */
export function latestFiringDue(cron: Cron, after: number, now: number): number | undefined {
  for (const lookBack of LOOK_BACK_MS) {
    const from = Math.max(after, now - lookBack);
    let due = nextFiring(cron, from);
    if (due === undefined || due > now) {
      if (from === after) return undefined;
      continue;
    }
    for (let i = 0; i < MAX_CATCH_UP_STEPS; i++) {
      const later = nextFiring(cron, due);
      if (later === undefined || later > now) break;
      due = later;
    }
    return due;
  }
  return undefined;
}

/**
 * Writes delivery results behind the deliveries (write-behind, group commit): results wait in memory and
 * go to the store in one bulk write; while that write is in flight the next batch gathers, so the number of
 * writes follows the store's speed, not the delivery rate.
 *
 * Results are held per claim until every job of the claim has one (at most `holdMs`): a whole claim's
 * deliveries are then recorded by one update keyed on the claim token alone (`lease_owner`), not on a list of
 * job ids — on MongoDB an index lookup either way, on the test stand-in a single pass instead of a pass per id
 * list entry. Holding results is safe: a job whose result is not yet written keeps its lease, and a result
 * written after the lease expired is discarded (the job is delivered again, same webhook-id).
 */
import type { AnyBulkWriteOperation, Collection } from "mongodb";
import type { Logger } from "../runtime/log.ts";
import type { ReadModelDoc } from "./collections.ts";
import type { AttemptResult, Claimed, JobStore, Outcome } from "./job-store.ts";

interface ClaimState {
  /** Jobs of the claim without a result yet. */
  outstanding: number;
  held: Outcome[];
  /** When the oldest held result arrived. */
  since: number;
}

export interface ResultWriterOptions {
  readonly jobs: JobStore;
  readonly subscriptionStats: Collection<ReadModelDoc>;
  readonly logger: Logger;
  /** How long a result may wait for the rest of its claim. */
  readonly holdMs: number;
}

export class ResultWriter {
  private readonly claims = new Map<string, ClaimState>();
  private pending: Outcome[] = [];
  /** Claims whose every remaining job has its result in `pending`. */
  private complete = new Set<string>();
  /** Claims a failed write left partly unrecorded: never recorded by token alone again. */
  private readonly tainted = new Set<string>();
  private writing: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;

  private readonly o: ResultWriterOptions;

  constructor(options: ResultWriterOptions) {
    this.o = options;
  }

  /** A new claim of `jobs` jobs, whose results will come through `add`. */
  open(claim: string, jobs: number): void {
    if (jobs > 0) this.claims.set(claim, { outstanding: jobs, held: [], since: 0 });
  }

  add(claimed: Claimed, result: AttemptResult): void {
    const outcome = { claimed, result, at: new Date() };
    const state = this.claims.get(claimed.claim);
    if (!state) {
      this.pending.push(outcome);
      this.schedule();
      return;
    }
    if (state.held.length === 0) state.since = Date.now();
    state.held.push(outcome);
    if (--state.outstanding <= 0) {
      this.claims.delete(claimed.claim);
      this.release(claimed.claim, state, true);
    } else {
      this.holdTimer ??= setTimeout(() => this.releaseOld(), this.o.holdMs);
    }
  }

  /** Writes every result held or pending; resolves when they are written. */
  async flush(): Promise<void> {
    for (const [claim, state] of this.claims) this.release(claim, state, false);
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    await this.drain();
  }

  private release(claim: string, state: ClaimState, whole: boolean): void {
    if (state.held.length === 0) return;
    this.pending.push(...state.held);
    state.held = [];
    if (whole && !this.tainted.has(claim)) this.complete.add(claim);
    this.schedule();
  }

  /** Results that waited `holdMs` for the rest of their claim go without it. */
  private releaseOld(): void {
    this.holdTimer = undefined;
    const now = Date.now();
    let next = Infinity;
    for (const [claim, state] of this.claims) {
      if (state.held.length === 0) continue;
      if (now - state.since >= this.o.holdMs) this.release(claim, state, false);
      else next = Math.min(next, state.since + this.o.holdMs - now);
    }
    if (next !== Infinity) this.holdTimer = setTimeout(() => this.releaseOld(), next);
  }

  private schedule(): void {
    if (!this.writing) this.flushTimer ??= setTimeout(() => void this.drain(), 5);
  }

  /** Writes the pending results, and whatever gathers meanwhile, until none is left. */
  private drain(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.writing ??= (async () => {
      while (this.pending.length > 0) {
        const batch = this.pending;
        const complete = this.complete;
        this.pending = [];
        this.complete = new Set();
        await this.write(batch, complete);
      }
    })().finally(() => (this.writing = undefined));
    return this.writing;
  }

  private async write(batch: Outcome[], complete: ReadonlySet<string>): Promise<void> {
    const stats = this.updateStats(batch).catch((error: unknown) =>
      this.o.logger.warn("subscription statistics not updated", { error: (error as Error).message }),
    );
    for (let attempt = 1; ; attempt++) {
      try {
        await this.o.jobs.record(batch, complete);
        break;
      } catch (error) {
        // Unrecorded results are not lost work: the jobs' leases expire and they are delivered again (same webhook-id).
        if (attempt >= 3) {
          for (const { claimed } of batch) this.tainted.add(claimed.claim);
          this.o.logger.error(
            "could not record delivery results; the jobs will be retried after their lease",
            {
              jobs: batch.length,
              error: (error as Error).message,
            },
          );
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
    await stats;
  }

  /** Delivered and failed counts per subscription (read model, at-least-once). */
  private async updateStats(batch: Outcome[]): Promise<void> {
    const counts = new Map<string, { delivered: number; failed: number }>();
    for (const { claimed, result } of batch) {
      if (result.status !== "DELIVERED" && result.status !== "FAILED") continue;
      const id = String(claimed.job.subscription_id);
      const c = counts.get(id) ?? { delivered: 0, failed: 0 };
      if (result.status === "DELIVERED") c.delivered++;
      else c.failed++;
      counts.set(id, c);
    }
    if (counts.size === 0) return;
    const ops: AnyBulkWriteOperation<ReadModelDoc>[] = [...counts].map(([id, c]) => ({
      updateOne: { filter: { _id: id }, update: { $inc: c, $set: { updated_at: new Date() } }, upsert: true },
    }));
    await this.o.subscriptionStats.bulkWrite(ops, { ordered: false });
  }
}

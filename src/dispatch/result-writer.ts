/**
 * Writes delivery results behind the deliveries (write-behind, group commit): results wait in memory and
 * go to the store in one bulk write; while that write is in flight the next batch gathers, so the number of
 * writes follows the store's speed, not the delivery rate. Holding results is safe: a job whose result is
 * not yet written keeps its lease, and a result written after the lease expired is discarded (the job is
 * delivered again, same webhook-id).
 */
import type { AnyBulkWriteOperation, Collection } from "mongodb";
import type { Logger } from "../runtime/log.ts";
import type { ReadModelDoc } from "./collections.ts";
import type { AttemptResult, Claimed, JobStore, Outcome } from "./job-store.ts";

export interface ResultWriterOptions {
  readonly jobs: JobStore;
  readonly subscriptionStats: Collection<ReadModelDoc>;
  readonly logger: Logger;
}

/** How long the first result of a batch waits for others before the batch is written. */
const GATHER_MS = 5;

export class ResultWriter {
  private pending: Outcome[] = [];
  private writing: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;

  private readonly o: ResultWriterOptions;

  constructor(options: ResultWriterOptions) {
    this.o = options;
  }

  add(claimed: Claimed, result: AttemptResult): void {
    this.pending.push({ claimed, result, at: new Date() });
    if (!this.writing) this.flushTimer ??= setTimeout(() => void this.drain(), GATHER_MS);
  }

  /** Writes every pending result; resolves when they are written. */
  flush(): Promise<void> {
    return this.drain();
  }

  /** Writes the pending results, and whatever gathers meanwhile, until none is left. */
  private drain(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.writing ??= (async () => {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        await this.write(batch);
      }
    })().finally(() => (this.writing = undefined));
    return this.writing;
  }

  private async write(batch: Outcome[]): Promise<void> {
    const stats = this.updateStats(batch).catch((error: unknown) =>
      this.o.logger.warn("subscription statistics not updated", { error: (error as Error).message }),
    );
    for (let attempt = 1; ; attempt++) {
      try {
        await this.o.jobs.record(batch);
        break;
      } catch (error) {
        // Unrecorded results are not lost work: the jobs' leases expire and they are delivered again (same webhook-id).
        if (attempt >= 3) {
          this.o.logger.error(
            "could not record delivery results; the jobs will be retried after their lease",
            { jobs: batch.length, error: (error as Error).message },
          );
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
    await stats;
  }

  /** Delivered and failed counts per subscription (read model, at-least-once): one upsert per subscription. */
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
    const now = new Date();
    const ops: AnyBulkWriteOperation<ReadModelDoc>[] = [...counts].map(([id, c]) => ({
      updateOne: { filter: { _id: id }, update: { $inc: c, $set: { updated_at: now } }, upsert: true },
    }));
    await this.o.subscriptionStats.bulkWrite(ops, { ordered: false });
  }
}

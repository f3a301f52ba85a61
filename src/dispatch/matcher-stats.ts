/**
 * What an operator reads about the matcher, in the shapes of an ASP processor: its counters under ASP's stats
 * names (`inputMessageCount`, `outputMessageCount`, `dlqMessageCount`, … — `sp jobs stats`,
 * GET /api/v1/dispatch/stats) and a dead-letter queue in the FlowCatalyst database whose records have ASP's
 * shape (`{_stream_meta, errInfo: {reason}, operatorName, doc, processorName, dlqTime}`).
 */
import type { Collection, Document } from "mongodb";
import { operatorErrorRecord, operatorFailureReason, safeSize } from "../runtime/dlq.ts";
import { StatsCollector, type ProcessorStats } from "../runtime/stats.ts";
import type { Doc } from "../mql/index.ts";
import type { EventDoc } from "./types.ts";

/** The name the matcher reports as `processorName` in stats and dead letters. */
export const MATCHER_NAME = "flowcatalyst-matcher";
/** The matching step, named as an operator in dead-letter records and `operatorStats`. */
export const MATCH_OPERATOR = "$matchSubscriptions";

export interface DeadLetter {
  readonly event: EventDoc;
  readonly message: string;
}

export class MatcherStats {
  private readonly collector = new StatsCollector(MATCHER_NAME);
  private readonly operator = this.collector.operator(MATCH_OPERATOR);
  private readonly dlq: Collection<Document>;

  constructor(dlq: Collection<Document>) {
    this.dlq = dlq;
  }

  /** `running` (leading), `standby`, `stopped` or `failed`, as `sp jobs stats` shows it. */
  set status(status: "running" | "standby" | "stopped" | "failed") {
    this.collector.status = status;
  }

  /** Events read from the stream (counted on input and by the matching operator). */
  input(events: readonly EventDoc[], now: number): void {
    if (events.length === 0) return;
    let bytes = 0;
    for (const event of events) bytes += safeSize(event as Doc);
    for (const counters of [this.collector, this.operator]) {
      counters.inputMessageCount += events.length;
      counters.inputMessageSize += bytes;
    }
    this.collector.lastMessageIn = now;
  }

  /** Jobs written (replays of jobs that already existed are not counted). */
  output(jobs: readonly object[], executionMs: number): void {
    let bytes = 0;
    for (const job of jobs) bytes += safeSize(job as Doc);
    for (const counters of [this.collector, this.operator]) {
      counters.outputMessageCount += jobs.length;
      counters.outputMessageSize += bytes;
    }
    this.operator.executionTimeMillis += executionMs;
  }

  /** Writes the records and counts them; a failed write fails the batch, which is then replayed. */
  async deadLetter(letters: readonly DeadLetter[], now: number): Promise<void> {
    if (letters.length === 0) return;
    const source = { type: "atlas", db: this.dlq.dbName, coll: "events" };
    const records = letters.map((letter) =>
      operatorErrorRecord({
        streamMeta: { source },
        reason: operatorFailureReason(MATCH_OPERATOR, letter.message),
        operatorName: MATCH_OPERATOR,
        doc: letter.event,
        processorName: MATCHER_NAME,
        now,
      }),
    );
    await this.dlq.insertMany(records, { ordered: false });
    let bytes = 0;
    for (const record of records) bytes += safeSize(record);
    for (const counters of [this.collector, this.operator]) {
      counters.dlqMessageCount += records.length;
      counters.dlqMessageSize += bytes;
    }
  }

  snapshot(options: { verbose?: boolean; scale?: number } = {}): ProcessorStats {
    return this.collector.snapshot({ stateSize: 0, watermark: undefined }, options);
  }
}

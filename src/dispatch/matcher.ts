/**
 * The FlowCatalyst stream processor: reads inserts on `events` in batches, matches each event against the
 * in-memory subscriptions, writes one dispatch job per match (idempotently), updates the read models and
 * then saves the resume token — so a crash at any point replays at most the last batch, and the replay
 * creates no job twice (unique event_id + subscription_id).
 */
import {
  ObjectId,
  type AnyBulkWriteOperation,
  type Document,
  type MongoClient,
  type ResumeToken,
} from "mongodb";
import { ChangeStreamSource } from "../connectors/mongodb/change-stream-source.ts";
import { errorChain } from "../connectors/retry.ts";
import type { StateStore } from "../control/state-store.ts";
import type { Logger } from "../runtime/log.ts";
import type { DispatchCollections, ReadModelDoc } from "./collections.ts";
import { EventTypeError } from "./event-type.ts";
import type { NewJobOffer, Reservation } from "./dispatcher.ts";
import type { JobStore, NewJob } from "./job-store.ts";
import type { DeadLetter, MatcherStats } from "./matcher-stats.ts";
import type { Metrics } from "./metrics.ts";
import type { SubscriptionCache } from "./subscription-cache.ts";
import type { DispatchJob, EventDoc, SubscriptionDoc } from "./types.ts";

/** What to do when the saved resume token can no longer be resumed from. */
export type InvalidTokenPolicy = "start-from-now" | "fail";

export const RESUME_TOKENS = "fc_resume_tokens";

export interface SavedPosition {
  readonly token: ResumeToken;
  /** The last event processed, to count the gap if the token is ever lost. */
  readonly lastEventId?: unknown;
  readonly savedAt: Date;
}

export interface MatcherOptions {
  readonly client: MongoClient;
  readonly db: string;
  readonly collections: DispatchCollections;
  readonly subscriptions: SubscriptionCache;
  readonly jobs: JobStore;
  /**
   * A dispatcher in the same process: every batch's new jobs (created PENDING) are offered to it with their
   * event and subscription, so it claims them by `_id` without searching the store or reading anything back.
   */
  readonly offerTo?: NewJobTaker;
  /**
   * Opt-in (FC_DISPATCH_HANDOFF): the jobs `offerTo` has room for are created already claimed by it,
   * IN_PROGRESS — the insert is the claim, one write per job less, but those jobs are never PENDING.
   */
  readonly handOver?: boolean;
  readonly positions: StateStore;
  readonly resumeTokenKey: string;
  readonly batchSize: number;
  readonly invalidTokenPolicy: InvalidTokenPolicy;
  readonly metrics: Metrics;
  /** ASP-style counters and the dead-letter queue (kept by the service across restarts of the matcher). */
  readonly stats: MatcherStats;
  readonly logger: Logger;
}

/** The part of the Dispatcher the matcher offers new jobs to. */
export interface NewJobTaker {
  offer(created: readonly NewJobOffer[], reservation?: Reservation): void;
  reserve(jobs: readonly NewJob[]): Reservation | undefined;
  release(reservation: Reservation): void;
}

/** Server codes for a resume token that cannot be used: ChangeStreamHistoryLost, ChangeStreamFatalError, InvalidResumeToken. */
const LOST_TOKEN_CODES = new Set([286, 280, 260]);

export class ResumeTokenLostError extends Error {
  override readonly name = "ResumeTokenLostError";
}

export class Matcher {
  private source: ChangeStreamSource | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private lastEventId: unknown;
  private lastSavedToken: string | undefined;
  private connected = false;
  private lastEventAt: number | undefined;

  private readonly o: MatcherOptions;

  constructor(options: MatcherOptions) {
    this.o = options;
  }

  /** Opens the events stream (after the saved token, if any) and starts processing in the background. */
  async start(): Promise<void> {
    const saved = await this.o.positions.get<SavedPosition>(RESUME_TOKENS, this.o.resumeTokenKey);
    this.lastEventId = fromSavedId(saved?.lastEventId);
    this.source = await this.open(saved);
    this.running = this.loop();
  }

  /** Stops after the batch in progress (its token saved). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    await this.source?.close();
    this.connected = false;
    this.o.metrics.set("fc_stream_change_stream_connected", 0);
  }

  /** Settles when the loop ends: after stop(), or with the error that stopped it. */
  get done(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  health(): { connected: boolean; lagSeconds: number | undefined } {
    return {
      connected: this.connected,
      lagSeconds:
        this.lastEventAt === undefined
          ? undefined
          : this.o.metrics.value("fc_stream_change_stream_lag_seconds"),
    };
  }

  private async open(saved: SavedPosition | undefined): Promise<ChangeStreamSource> {
    try {
      const source = this.newSource(saved?.token);
      await source.start();
      this.markConnected();
      return source;
    } catch (error) {
      if (!saved || !isLostToken(error)) throw error;
      return this.resetFromNow(error as Error);
    }
  }

  private async resetFromNow(error: Error): Promise<ChangeStreamSource> {
    if (this.o.invalidTokenPolicy === "fail") {
      throw new ResumeTokenLostError(
        `the saved resume token '${this.o.resumeTokenKey}' cannot be resumed (${error.message}); ` +
          "with FC_STREAM_INVALID_TOKEN_POLICY=fail the matcher stops: delete the token to start from now, " +
          "or set the policy to start-from-now",
      );
    }
    const skipped = await this.countSkipped();
    this.o.metrics.inc("fc_stream_resume_token_resets_total");
    if (skipped !== undefined) this.o.metrics.inc("fc_stream_skipped_events_total", skipped);
    this.o.logger.warn("resume token invalid or expired: starting from now; events in the gap get no jobs", {
      resumeTokenKey: this.o.resumeTokenKey,
      error: error.message,
      skippedEvents: skipped ?? "unknown",
    });
    await this.o.positions.delete(RESUME_TOKENS, this.o.resumeTokenKey);
    const source = this.newSource(undefined);
    await source.start();
    this.markConnected();
    return source;
  }

  /** Events after the last one processed, when event ids are ObjectIds (which grow with time). */
  private async countSkipped(): Promise<number | undefined> {
    if (!(this.lastEventId instanceof ObjectId)) return undefined;
    return this.o.collections.events
      .countDocuments({ _id: { $gt: this.lastEventId } })
      .catch(() => undefined);
  }

  private newSource(token: ResumeToken | undefined): ChangeStreamSource {
    return new ChangeStreamSource(
      this.o.client,
      {
        type: "Cluster",
        connectionName: "flowcatalyst",
        options: {
          db: this.o.db,
          coll: this.o.collections.events.collectionName,
          // The server's cursor batches are larger than the matcher's: a getMore costs a round trip (and, on
          // some servers, a scan of the oplog), while a processing batch only bounds what a crash replays.
          config: {
            pipeline: [{ $match: { operationType: "insert" } }],
            batchSize: Math.max(this.o.batchSize, 1000),
            maxAwaitTimeMS: 500,
          },
          initialSync: undefined,
        },
        timeField: undefined,
        tsFieldName: "_ts",
        partitionIdleTimeoutMs: undefined,
      },
      {
        ...(token !== undefined ? { resumeAfterToken: token } : {}),
        maxBatchSize: this.o.batchSize,
        // MongoDB holds an empty getMore for maxAwaitTimeMS (new events end it at once); a server that
        // answers at once (the test stand-in, which scans its whole oplog per getMore) is polled this often.
        idlePollMs: 200,
        onRetry: (error, attempt, delayMs) => {
          this.connected = false;
          this.o.metrics.set("fc_stream_change_stream_connected", 0);
          this.o.metrics.inc("fc_stream_errors_total", 1, { kind: "change_stream" });
          this.o.logger.warn("events change stream lost; reopening", {
            error: error.message,
            attempt,
            delayMs,
          });
        },
      },
    );
  }

  private markConnected(): void {
    this.connected = true;
    this.o.metrics.set("fc_stream_change_stream_connected", 1);
  }

  /**
   * Reads, processes and saves the position batch after batch. A batch's token is saved while the next batch
   * is read and matched (the saves stay in order, and each follows its batch's writes): a slow state store
   * (a file store's fsync) then costs no throughput, and a crash replays at most the two batches since the
   * last save completed.
   */
  private async loop(): Promise<void> {
    let saving: Promise<void> = Promise.resolve();
    let saveError: Error | undefined;
    try {
      while (!this.stopped) {
        const source = this.source as ChangeStreamSource;
        let batch;
        try {
          batch = await source.next();
        } catch (error) {
          if (this.stopped) return;
          if (!isLostToken(error)) throw error;
          await source.close();
          this.source = await this.resetFromNow(error as Error);
          continue;
        }
        if (!batch) return;
        this.markConnected();
        if (batch.records.length > 0) {
          const started = performance.now();
          await this.process(
            batch.records.map((r) => ({ change: r.doc as Document, timestamp: r.timestamp })),
          );
          this.o.metrics.observe(
            "fc_stream_processing_duration_seconds",
            (performance.now() - started) / 1000,
          );
        }
        await saving;
        if (saveError) throw saveError;
        saving = this.saveToken(source).catch((error: unknown) => {
          saveError = error as Error;
        });
      }
    } finally {
      await saving;
    }
    if (saveError) throw saveError;
  }

  /**
   * Matches a batch, writes its jobs, dead letters and read models. An event that cannot be matched (its type
   * or client_id malformed) and a subscription filter that fails on an event go to the DLQ; the rest of the
   * batch goes on. Exposed for tests and the benchmark.
   */
  async process(changes: ReadonlyArray<{ change: Document; timestamp: number }>): Promise<number> {
    const started = performance.now();
    const events: EventDoc[] = [];
    for (const { change } of changes) {
      const event = change.fullDocument as EventDoc | undefined;
      if (event) events.push(event);
    }
    this.o.stats.input(events, Date.now());
    const jobs: NewJob[] = [];
    /** Per job: the event and subscription it was made from (for the offer). */
    const sources: Array<{ event: EventDoc; subscription: SubscriptionDoc }> = [];
    const deadLetters: DeadLetter[] = [];
    let matched = 0;
    for (const event of events) {
      const onFilterError = (subscriptionId: string, error: Error): void => {
        this.o.metrics.inc("fc_stream_errors_total", 1, { kind: "filter" });
        deadLetters.push({
          event,
          message: `the filters of subscription '${subscriptionId}' failed on the event: ${error.message}`,
        });
      };
      let subscriptions;
      try {
        subscriptions = this.o.subscriptions.match(event, onFilterError);
      } catch (error) {
        if (!(error instanceof EventTypeError)) throw error;
        this.o.metrics.inc("fc_stream_errors_total", 1, { kind: "invalid_event" });
        deadLetters.push({ event, message: error.message });
        continue;
      }
      matched += subscriptions.length;
      for (const s of subscriptions) {
        jobs.push({
          event_id: event._id,
          subscription_id: s.doc._id,
          client_id: event.client_id,
          target: s.doc.target,
          pool_code: typeof s.doc.pool_code === "string" ? s.doc.pool_code : "default",
        });
        sources.push({ event, subscription: s.doc });
      }
    }
    const reservation = this.o.handOver && jobs.length > 0 ? this.o.offerTo?.reserve(jobs) : undefined;
    let created: DispatchJob[];
    try {
      created = await this.o.jobs.create(jobs, reservation);
    } catch (error) {
      if (reservation) this.o.offerTo?.release(reservation);
      throw error;
    }
    try {
      await this.o.stats.deadLetter(deadLetters, Date.now());
      if (deadLetters.length > 0) {
        this.o.logger.warn("events dead-lettered", {
          count: deadLetters.length,
          first: { eventId: String(deadLetters[0].event._id), reason: deadLetters[0].message },
        });
      }
      await this.updateReadModels(
        events,
        created.map((j) => String(j.subscription_id)),
      );
    } finally {
      // After the read models: an offered job is counted `delivered` only after it was counted `matched`.
      this.offer(jobs, sources, created, reservation);
    }
    this.o.stats.output(created, performance.now() - started);
    const m = this.o.metrics;
    m.inc("fc_stream_events_processed_total", events.length);
    m.inc("fc_stream_subscriptions_matched_total", matched);
    m.inc("fc_stream_dispatch_jobs_created_total", created.length);
    if (deadLetters.length > 0) m.inc("fc_stream_dlq_events_total", deadLetters.length);
    m.set("fc_stream_subscriptions_active", this.o.subscriptions.size);
    const last = changes[changes.length - 1];
    if (last) {
      this.lastEventAt = last.timestamp;
      m.set("fc_stream_change_stream_lag_seconds", Math.max(0, (Date.now() - last.timestamp) / 1000));
    }
    if (events.length > 0) this.lastEventId = events[events.length - 1]._id;
    return created.length;
  }

  /** Offers the jobs just created to the co-located dispatcher, if any, with their events and subscriptions. */
  private offer(
    jobs: readonly NewJob[],
    sources: ReadonlyArray<{ event: EventDoc; subscription: SubscriptionDoc }>,
    created: readonly DispatchJob[],
    reservation: Reservation | undefined,
  ): void {
    if (!this.o.offerTo) return;
    const index = new Map(jobs.map((j, i) => [`${String(j.event_id)}|${String(j.subscription_id)}`, i]));
    this.o.offerTo.offer(
      created.map((job) => ({
        job,
        ...sources[index.get(`${String(job.event_id)}|${String(job.subscription_id)}`) as number],
      })),
      reservation,
    );
  }

  private async updateReadModels(events: readonly EventDoc[], createdFor: readonly string[]): Promise<void> {
    if (events.length === 0) return;
    const now = new Date();
    const byType = new Map<string, number>();
    const byClient = new Map<string, { events: number; jobs: number }>();
    for (const e of events) {
      byType.set(String(e.type), (byType.get(String(e.type)) ?? 0) + 1);
      const c = byClient.get(String(e.client_id)) ?? { events: 0, jobs: 0 };
      c.events++;
      byClient.set(String(e.client_id), c);
    }
    const matchedBySubscription = new Map<string, number>();
    for (const id of createdFor) matchedBySubscription.set(id, (matchedBySubscription.get(id) ?? 0) + 1);
    const { eventTypeCounts, subscriptionStats, clientActivity } = this.o.collections;
    const upsert = (id: string, inc: Record<string, number>): AnyBulkWriteOperation<ReadModelDoc> => ({
      updateOne: { filter: { _id: id }, update: { $inc: inc, $set: { updated_at: now } }, upsert: true },
    });
    await Promise.all([
      eventTypeCounts.bulkWrite(
        [...byType].map(([type, n]) => upsert(type, { count: n })),
        { ordered: false },
      ),
      clientActivity.bulkWrite(
        [...byClient].map(([id, c]) => upsert(id, { events: c.events })),
        { ordered: false },
      ),
      matchedBySubscription.size > 0
        ? subscriptionStats.bulkWrite(
            [...matchedBySubscription].map(([id, n]) => upsert(id, { matched: n })),
            { ordered: false },
          )
        : undefined,
    ]);
  }

  /**
   * Saves the position after every batch (and, while idle, whenever the server's post-batch token moved).
   * What it saves is read before its first await: the position right after the batch.
   */
  private async saveToken(source: ChangeStreamSource): Promise<void> {
    const token = source.positions().resumeToken as ResumeToken | undefined;
    if (token === undefined) return;
    const serialized = JSON.stringify(token);
    if (serialized === this.lastSavedToken) return;
    const position: SavedPosition = { token, lastEventId: this.lastEventId, savedAt: new Date() };
    await this.o.positions.put(RESUME_TOKENS, this.o.resumeTokenKey, position);
    this.lastSavedToken = serialized;
  }
}

/**
 * A saved id as the driver's type: state stores decode records with the `bson` package's ES module, whose
 * ObjectId is another class than the driver's (CommonJS) one, so `instanceof` would miss it.
 */
function fromSavedId(saved: unknown): unknown {
  const id = saved as { _bsontype?: unknown; toHexString?: () => string } | null | undefined;
  return id?._bsontype === "ObjectId" && typeof id.toHexString === "function"
    ? new ObjectId(id.toHexString())
    : saved;
}

function isLostToken(error: unknown): boolean {
  for (const e of errorChain(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "number" && LOST_TOKEN_CODES.has(code)) return true;
  }
  return false;
}

/**
 * `$source` on a MongoDB change stream (docs/asp-semantics.md §1.3): a collection, several collections, a database or
 * the whole cluster. Events are handed over as the server emits them (or just `fullDocument` with
 * `fullDocumentOnly`). The resume token of the last event handed over is the checkpoint position; after a
 * lost connection the stream is reopened after that token, with exponential back-off. Errors that cannot
 * heal (authentication, an invalid namespace, a token that has left the oplog) throw a non-retryable
 * {@link ConnectorError} at once; a server that stays unreachable for `reconnectForMs` throws a retryable one.
 */
import { calculateObjectSize, Timestamp } from "bson";
import { setTimeout as sleep } from "node:timers/promises";
import type { ChangeStream, ChangeStreamOptions, Document, MongoClient, ResumeToken } from "mongodb";
import type { Doc } from "../../mql/index.ts";
import type { SourcePlan } from "../../pipeline/plan.ts";
import type { ClusterSourceOptions } from "./change-stream-options.ts";
import type { Source, SourceBatch, SourceLag, SourceRecord } from "../../runtime/source.ts";
import { ReachabilityTracker } from "../../runtime/source-reachability.ts";
import { ConnectorError } from "../../runtime/errors.ts";
import { mongoFailure } from "./errors.ts";
import { namespaceProblem } from "./namespace.ts";

export type ChangeStreamSourcePlan = SourcePlan<ClusterSourceOptions>;

export interface ChangeStreamSourceOptions {
  /** Resume token from a checkpoint; takes precedence over `config.startAfter`/`startAtOperationTime`. */
  readonly resumeAfterToken?: ResumeToken;
  /** Most events per batch (default 1000). */
  readonly maxBatchSize?: number;
  /** Called with the reason each time the stream is reopened after an error. */
  readonly onRetry?: (error: Error, attempt: number, delayMs: number) => void;
  /** Upper bound of the reconnect back-off (default 30 s). */
  readonly maxBackoffMs?: number;
  /** How long to keep reopening a failing stream before `next()` throws (default 60 s). */
  readonly reconnectForMs?: number;
  /**
   * The least time between two polls that find nothing (default 50 ms). MongoDB holds an empty getMore for
   * `maxAwaitTimeMS`, but a server that answers it at once (mongo-java-server, the test stand-in) would
   * otherwise be polled in a tight loop, one round trip after another, by every idle processor.
   */
  readonly idlePollMs?: number;
}

export class ChangeStreamSource implements Source {
  readonly type = "atlas";
  readonly operatorName = "ChangeStreamSourceOperator";
  private readonly client: MongoClient;
  private readonly plan: ClusterSourceOptions;
  private readonly options: ChangeStreamSourceOptions;
  private stream: ChangeStream | undefined;
  private lastToken: ResumeToken | undefined;
  private failures = 0;
  private failingSince: number | undefined;
  private closed = false;
  /** The event `start()` may have read while opening the cursor. */
  private buffered: Document[] = [];
  /** Cluster time (epoch ms) of the last event handed over. */
  private lastEventTime: number | undefined;
  /** The last poll found nothing more: the stream has read up to the newest oplog entry. */
  private caughtUp = false;
  private readonly reachability = new ReachabilityTracker();

  constructor(client: MongoClient, plan: ChangeStreamSourcePlan, options: ChangeStreamSourceOptions = {}) {
    this.client = client;
    this.plan = plan.options;
    this.options = options;
    this.lastToken = options.resumeAfterToken;
  }

  async start(): Promise<void> {
    const { db, coll } = this.plan;
    if (db !== undefined) {
      for (const name of Array.isArray(coll) ? coll : [coll ?? "coll"]) {
        const problem = namespaceProblem(db, name);
        if (problem !== undefined)
          throw new ConnectorError(`$source: ${problem}; fix the watched namespace`, { retryable: false });
      }
    }
    try {
      this.stream = this.open();
      // Opens the server cursor now, so events written after start() are never missed.
      const event = await this.stream.tryNext();
      if (event) this.buffered = [event];
    } catch (error) {
      throw mongoFailure(error, `change stream $source on ${this.scope()} could not start`);
    }
  }

  async next(): Promise<SourceBatch | undefined> {
    if (this.closed) return undefined;
    const max = this.options.maxBatchSize ?? 1000;
    const events = this.buffered;
    this.buffered = [];
    const polledAt = performance.now();
    try {
      const stream = (this.stream ??= this.open());
      while (events.length < max) {
        const event = await stream.tryNext();
        if (!event) break;
        events.push(event);
        if (stream.bufferedCount() === 0) break;
      }
      this.failures = 0;
      this.failingSince = undefined;
      this.reachability.ok();
      this.caughtUp = events.length === 0;
    } catch (error) {
      await this.reopenLater(error as Error);
    }
    if (events.length === 0) {
      const early = (this.options.idlePollMs ?? 50) - (performance.now() - polledAt);
      if (early > 0 && !this.closed) await sleep(early);
      return { records: [], idle: true };
    }
    return { records: events.map((event) => this.toRecord(event)) };
  }

  /**
   * The driver's resume token once everything `next()` returned has been handed over: the last event's
   * `_id`, or the server's post-batch token while the stream is quiet, so an idle processor's checkpoint
   * keeps moving forward in the oplog (and covers the time before its first event).
   */
  positions(): Doc {
    if (this.buffered.length === 0) this.lastToken = this.stream?.resumeToken ?? this.lastToken;
    return this.lastToken === undefined ? {} : { resumeToken: this.lastToken };
  }

  /**
   * `changeStreamTimeDifferenceSecs`: 0 once a poll found nothing more to read; while events are pending, the
   * newest oplog entry is taken to be now (a replica set's cluster time follows the clock: it writes a no-op
   * at least every 10 s), so this is how old the last handed-over event is.
   */
  lag(): SourceLag {
    const behind =
      this.caughtUp || this.lastEventTime === undefined ? 0 : Math.max(0, Date.now() - this.lastEventTime);
    return {
      changeStreamTimeDifferenceSecs: Math.round(behind / 1000),
      sourceStatus: this.reachability.get(),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stream?.close().catch(() => undefined);
  }

  private toRecord(event: Document): SourceRecord {
    this.lastToken = event._id as ResumeToken;
    this.lastEventTime = eventTime(event);
    const fullDocumentOnly = this.plan.config.fullDocumentOnly === true;
    const doc = (fullDocumentOnly ? (event.fullDocument ?? {}) : this.withNamespace(event)) as Doc;
    return {
      doc,
      partition: 0,
      timestamp: this.lastEventTime,
      meta: undefined,
      size: calculateObjectSize(doc),
    };
  }

  /** Some servers (the test stand-in) omit `ns`; a collection stream knows it, so the event gets it as MongoDB sends it. */
  private withNamespace(event: Document): Document {
    const { db, coll } = this.plan;
    if (event.ns !== undefined || db === undefined || typeof coll !== "string") return { ...event };
    return { ...event, ns: { db, coll } };
  }

  private open(): ChangeStream {
    const { db, coll, config } = this.plan;
    const pipeline = [...((config.pipeline as Document[] | undefined) ?? [])];
    const options: ChangeStreamOptions = {
      maxAwaitTimeMS: (config.maxAwaitTimeMS as number | undefined) ?? 1000,
    };
    if (config.fullDocument !== undefined)
      options.fullDocument = config.fullDocument as ChangeStreamOptions["fullDocument"];
    if (config.fullDocumentBeforeChange !== undefined && config.fullDocumentBeforeChange !== "off") {
      options.fullDocumentBeforeChange =
        config.fullDocumentBeforeChange as ChangeStreamOptions["fullDocumentBeforeChange"];
    }
    if (config.batchSize !== undefined) options.batchSize = config.batchSize as number;
    if (this.lastToken !== undefined) options.startAfter = this.lastToken;
    else if (config.startAfter !== undefined) options.startAfter = config.startAfter as ResumeToken;
    else if (config.startAtOperationTime !== undefined)
      options.startAtOperationTime = operationTime(config.startAtOperationTime);

    if (Array.isArray(coll)) {
      pipeline.unshift({ $match: { "ns.db": db, "ns.coll": { $in: coll } } });
      return this.client.db(db).watch(pipeline, options);
    }
    if (db !== undefined && typeof coll === "string")
      return this.client.db(db).collection(coll).watch(pipeline, options);
    if (db !== undefined) return this.client.db(db).watch(pipeline, options);
    return this.client.watch(pipeline, options);
  }

  private scope(): string {
    const { db, coll } = this.plan;
    if (db === undefined) return "the cluster";
    if (coll === undefined) return `database ${db}`;
    return Array.isArray(coll) ? coll.map((c) => `${db}.${c}`).join(", ") : `${db}.${coll}`;
  }

  private async reopenLater(error: Error): Promise<void> {
    const failure = mongoFailure(error, `change stream $source on ${this.scope()} failed`);
    this.reachability.failed(failure.message);
    const now = Date.now();
    this.failingSince ??= now;
    if (!failure.retryable || now - this.failingSince >= (this.options.reconnectForMs ?? 60_000)) {
      throw failure;
    }
    this.failures++;
    const delay = Math.min(this.options.maxBackoffMs ?? 30_000, 100 * 2 ** Math.min(this.failures - 1, 16));
    this.options.onRetry?.(error, this.failures, delay);
    const stale = this.stream;
    this.stream = undefined;
    await stale?.close().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** `clusterTime` (seconds of the oplog timestamp) or `wallTime`, else now. */
function eventTime(event: Document): number {
  if (event.wallTime instanceof Date) return event.wallTime.getTime();
  const clusterTime = event.clusterTime as Timestamp | undefined;
  if (clusterTime && typeof clusterTime.t === "number" && clusterTime.t > 0) return clusterTime.t * 1000;
  return Date.now();
}

/** ASP accepts a Date (truncated to whole seconds, increment 0) or a Timestamp. */
function operationTime(value: unknown): Timestamp {
  if (value instanceof Date) {
    return new Timestamp({ t: Math.floor(value.getTime() / 1000), i: 0 });
  }
  return value as Timestamp;
}

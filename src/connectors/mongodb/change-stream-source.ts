/**
 * `$source` on a MongoDB change stream (docs/asp-semantics.md §1.3): a collection, several collections, a database or
 * the whole cluster. Events are handed over as the server emits them (or just `fullDocument` with
 * `fullDocumentOnly`). The resume token of the last event handed over is the checkpoint position; after a
 * lost connection the stream is reopened after that token, with exponential back-off. Errors that cannot
 * heal (authentication, an invalid namespace, a token that has left the oplog) throw a non-retryable
 * {@link ConnectorError} at once; a server that stays unreachable for `reconnectForMs` throws a retryable one.
 */
import { Timestamp } from "bson";
import { bsonSize } from "../../codec/bson-size.ts";
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from "node:timers/promises";
import type { ChangeStream, ChangeStreamOptions, Document, MongoClient, ResumeToken } from "mongodb";
import type { Doc } from "../../mql/index.ts";
import type { SourcePlan } from "../../pipeline/plan.ts";
import type { ClusterSourceOptions } from "./change-stream-options.ts";
import type { Source, SourceBatch, SourceLag, SourceRecord } from "../../runtime/source.ts";
import { ReachabilityTracker } from "../../runtime/source-reachability.ts";
import { ConnectorError } from "../../runtime/errors.ts";
import { mongoFailure } from "./errors.ts";
import { namespaceProblem } from "./namespace.ts";
import { SnapshotReader, snapshotNamespaces, type InitialSyncPosition } from "./initial-sync.ts";

/** Events decoded between two turns of the event loop while a batch is read. */
const YIELD_EVERY = 200;

export type ChangeStreamSourcePlan = SourcePlan<ClusterSourceOptions>;

export interface ChangeStreamSourceOptions {
  /** Resume token from a checkpoint; takes precedence over `config.startAfter`/`startAtOperationTime`. */
  readonly resumeAfterToken?: ResumeToken;
  /** Where `initialSync` got to, from the same checkpoint (`positions.initialSync`). */
  readonly initialSync?: InitialSyncPosition;
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
  readonly rereadsUnhandledRecords = true;
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
  /** The `initialSync` copy while it runs; `syncDone` once it finished (or was never asked for). */
  private snapshot: SnapshotReader | undefined;
  private syncDone: boolean;

  constructor(client: MongoClient, plan: ChangeStreamSourcePlan, options: ChangeStreamSourceOptions = {}) {
    this.client = client;
    this.plan = plan.options;
    this.options = options;
    this.lastToken = options.resumeAfterToken;
    this.syncDone = plan.options.initialSync?.enable !== true || options.initialSync?.phase === "done";
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
      // A copy interrupted by a crash goes on from its checkpoint, whose token was taken before it began;
      // without such a token (the stand-in has none until its first event) it starts over.
      const resumingCopy = !this.syncDone && this.lastToken !== undefined && this.options.initialSync;
      if (resumingCopy) return await this.startSnapshot(this.options.initialSync);
      this.stream = this.open();
      // Opens the server cursor now, so events written after start() are never missed.
      const event = await this.stream.tryNext();
      if (this.syncDone) {
        if (event) this.buffered = [event];
        return;
      }
      // The copy reads every change made before it, `event` included: the stream goes on after it.
      if (event) this.lastToken = event._id as ResumeToken;
      else this.lastToken = this.stream.resumeToken ?? undefined;
      await this.startSnapshot(undefined);
    } catch (error) {
      throw mongoFailure(error, `change stream $source on ${this.scope()} could not start`);
    }
  }

  private async startSnapshot(from: InitialSyncPosition | undefined): Promise<void> {
    const { db, coll, config } = this.plan;
    const namespaces = await snapshotNamespaces(this.client, db, coll);
    const pipeline = (config.pipeline as Document[] | undefined) ?? [];
    const batchSize = this.options.maxBatchSize ?? 1000;
    const parallelism = this.plan.initialSync?.parallelism ?? 1;
    this.snapshot = new SnapshotReader(this.client, namespaces, pipeline, { batchSize, parallelism }, from);
  }

  async next(): Promise<SourceBatch | undefined> {
    if (this.closed) return undefined;
    if (this.snapshot) {
      const copied = await this.nextCopied();
      if (copied) return copied;
    }
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
        // Buffered events resolve as microtasks, which hold off every I/O callback: a sink's reply
        // waits for the whole batch to be decoded unless the loop gives way now and then.
        if (events.length % YIELD_EVERY === 0) await yieldToEventLoop();
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
    if (this.snapshot !== undefined) {
      const initialSync = this.snapshot.position();
      return this.lastToken === undefined ? { initialSync } : { resumeToken: this.lastToken, initialSync };
    }
    if (this.buffered.length === 0) this.lastToken = this.stream?.resumeToken ?? this.lastToken;
    const position: Doc = this.lastToken === undefined ? {} : { resumeToken: this.lastToken };
    if (this.plan.initialSync?.enable === true) position.initialSync = { phase: "done" };
    return position;
  }

  /**
   * The next batch of copied documents, or undefined once the copy is complete: the stream then goes on
   * from the token taken before the copy began, so a change made while copying is handed over after it
   * (at least once: a document copied after a change may be followed by that change's event too).
   */
  private async nextCopied(): Promise<SourceBatch | undefined> {
    const snapshot = this.snapshot as SnapshotReader;
    let events: Document[];
    try {
      events = await snapshot.next();
    } catch (error) {
      throw mongoFailure(error, `initialSync of ${this.scope()} failed`);
    }
    if (events.length === 0 && snapshot.done) {
      await snapshot.close();
      this.snapshot = undefined;
      this.syncDone = true;
      return undefined;
    }
    const readAt = Date.now();
    return { records: events.map((event) => this.toRecord(event, readAt)) };
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
    await this.snapshot?.close();
    await this.stream?.close().catch(() => undefined);
  }

  /** A change event, or a copied document's synthetic insert event when `copiedAt` (its read time) is given. */
  private toRecord(event: Document, copiedAt?: number): SourceRecord {
    if (copiedAt === undefined) this.lastToken = event._id as ResumeToken;
    else event.wallTime = new Date(copiedAt);
    const timestamp = eventTime(event);
    if (copiedAt === undefined) this.lastEventTime = timestamp;
    const fullDocumentOnly = this.plan.config.fullDocumentOnly === true;
    const doc = (fullDocumentOnly ? (event.fullDocument ?? {}) : this.withNamespace(event)) as Doc;
    return {
      doc,
      partition: 0,
      timestamp,
      meta: copiedAt === undefined ? undefined : { initialSync: { phase: "snapshot" } },
      size: bsonSize(doc),
    };
  }

  /**
   * Some servers (the test stand-in) omit `ns`; a collection stream knows it, so the event gets it as
   * MongoDB sends it. The event is the driver's fresh object, handed over as it is (no copy per event).
   */
  private withNamespace(event: Document): Document {
    const { db, coll } = this.plan;
    if (event.ns === undefined && db !== undefined && typeof coll === "string") event.ns = { db, coll };
    return event;
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

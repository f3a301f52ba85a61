/**
 * One consumer-group member of a scaled-out processor, split into one {@link FeedSource} per assigned
 * partition so each partition runs (and checkpoints) on its own: the group coordinator decides which task
 * reads which partition, and a partition's state moves with it. It reads either the repartition topic
 * (records a reader re-keyed, {@link RepartitionDecoder}) or, for a processor without a window, the source
 * topic itself ({@link SourceTopicDecoder}).
 *
 * Records are fetched by Eddy's own fetch path ({@link Fetcher}, as the `$source` does: record batches decoded
 * straight into the partitions' queues, CRC-32C checked, read_committed, LogAppendTime); the client's
 * Consumer keeps the group membership, the assignment, metadata and the commits. The fetcher fetches only
 * the partitions whose runtimes run here (a partition waiting for its lease is not fetched).
 *
 * Each partition starts exactly where its own checkpoint says ({@link PartitionFeed.open}); a partition
 * without one starts at the group's committed offset (committed after each of its checkpoints), else at
 * the fallback (`auto_offset_reset`). Otherwise the group is only the assignment.
 */
import { Consumer } from "@platformatic/kafka";
import { setTimeout as sleep } from "node:timers/promises";
import type { Doc } from "../../mql/index.ts";
import type { Source, SourceBatch, SourceLag, SourceRecord } from "../../runtime/source.ts";
import { retryDelay } from "../retry.ts";
import {
  INCREMENTAL_REBALANCE_PROTOCOLS,
  type KafkaClientOptions,
  type KafkaConsumerTuning,
} from "./connection.ts";
import { kafkaFailure } from "./errors.ts";
import { CLOSE_TIMEOUT_MS, Fetcher, withTimeout, type FetcherSink } from "./fetcher.ts";
import { splitPartitionKey, type KafkaRecordDecoder } from "./record.ts";
import { sleepUntilWoken } from "./wake-up.ts";
import type { FetchedHeader, FetchedRecordVisitor } from "./record-batch.ts";
import { FETCH_BYTES_PER_PARTITION } from "./source.ts";
import {
  decodeRepartitionValue,
  ORIGIN_OFFSET_HEADER,
  ORIGIN_PARTITION_HEADER,
  SOURCE_MESSAGE_HEADER,
} from "./repartition.ts";

type KafkaConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>;

/** A record as the fetch path read it (its buffers are views into the fetched response). */
export interface FetchedMessage {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: FetchedHeader[] | undefined;
}

export interface PartitionFeedOptions {
  readonly topic: string;
  readonly groupId: string;
  readonly tuning?: KafkaConsumerTuning;
  readonly maxBatchSize?: number;
  /** Where a partition with neither a checkpoint nor a committed offset starts (default earliest). */
  readonly fallback?: "earliest" | "latest";
  /** Called (not awaited) whenever the group assigned this member another set of partitions. */
  readonly onAssignment: () => void;
  /** How long to keep reopening the fetcher while the brokers are unreachable before the partitions fail (default 60 s). */
  readonly reconnectForMs?: number;
}

/** The visitor of a replaced fetcher's response, or of a partition not fed here: its records are dropped. */
const IGNORED_RECORDS: FetchedRecordVisitor = { record: () => undefined };

export class PartitionFeed {
  private readonly client: KafkaClientOptions;
  private readonly options: PartitionFeedOptions;
  private consumer: KafkaConsumer | undefined;
  private fetcher: Fetcher | undefined;
  /** Opening and reopening the fetcher, one after the other. */
  private opening: Promise<void> = Promise.resolve();
  private readonly sources = new Map<number, FeedSource>();
  private readonly logEnd = new Map<number, bigint>();
  private lagTimer: NodeJS.Timeout | undefined;
  private seen = "";
  /** Messages the partitions hold, not yet taken by their runtimes. */
  private queued = 0;
  /** Consecutive failed fetches, and since when the fetcher has been failing. */
  private failures = 0;
  private failingSince: number | undefined;
  /** Why every partition fails (a corrupt batch, brokers unreachable for too long), once it does. */
  private failure: Error | undefined;
  private closed = false;

  constructor(client: KafkaClientOptions, options: PartitionFeedOptions) {
    this.client = client;
    this.options = options;
  }

  /** Joins the group (reading nothing until `open`). */
  async start(): Promise<void> {
    const consumer: KafkaConsumer = new Consumer({
      ...this.client,
      ...this.options.tuning,
      groupId: this.options.groupId,
      autocommit: false,
      // Revoked partitions stop and new ones start; the task restarts nothing else.
      protocols: [...INCREMENTAL_REBALANCE_PROTOCOLS],
    });
    this.consumer = consumer;
    consumer.on("consumer:group:join", () => this.checkAssignment());
    // Subscribed for as long as the feed lives: reopening the fetcher must not leave and rejoin the group.
    consumer.topics.trackAll(this.options.topic);
    await consumer.joinGroup({});
    this.lagTimer = setInterval(() => void this.refreshLogEnd(), 2_000);
    this.lagTimer.unref();
    this.checkAssignment();
  }

  /** The partitions the group assigned this member, ascending. */
  assigned(): number[] {
    const mine = this.consumer?.assignments?.find((a) => a.topic === this.options.topic);
    return [...(mine?.partitions ?? [])].sort((a, b) => a - b);
  }

  private checkAssignment(): void {
    const now = this.assigned().join(",");
    if (now === this.seen) return;
    this.seen = now;
    this.options.onAssignment();
  }

  /**
   * (Re)opens the fetcher for the partitions of `sources`, each where it continues: a partition already
   * fed keeps what it holds and is fetched after it, a new one starts at its own next offset (none: the
   * group's committed offset, else the fallback). What the previous fetcher read ahead is dropped.
   */
  async open(sources: ReadonlyMap<number, FeedSource>): Promise<void> {
    if (!this.consumer) throw new Error("PartitionFeed.open() before start()");
    await this.serially(async () => {
      await this.closeFetcher();
      this.sources.clear();
      for (const [partition, source] of sources) this.sources.set(partition, source);
      this.queued = [...sources.values()].reduce((total, source) => total + source.held, 0);
      if (sources.size > 0) await this.openFetcher();
    });
  }

  private serially(step: () => Promise<void>): Promise<void> {
    const run = this.opening.then(step);
    this.opening = run.catch(() => undefined);
    return run;
  }

  private async openFetcher(): Promise<void> {
    const { topic } = this.options;
    const fetcher: Fetcher = new Fetcher(
      this.consumer as KafkaConsumer,
      this.client,
      {
        topics: [topic],
        // Where each partition continues, also when it is fetched again after the assignment left it out
        // for a moment (a member that lost its generation): after what its source holds, never before.
        startAt: (key, committed) => this.sources.get(splitPartitionKey(key)[1])?.fetchFrom ?? committed,
        fallback: this.options.fallback ?? "earliest",
        maxWaitMs: 500,
        // As the $source's: without it one fetch behind a backlog decodes the whole backlog at once.
        bytesPerPartition: FETCH_BYTES_PER_PARTITION,
        fetches: (_topic, partition) => this.sources.has(partition),
      },
      this.sinkFor(() => this.fetcher === fetcher),
    );
    this.fetcher = fetcher;
    await fetcher.start().catch((error: unknown) => {
      this.fetcher = undefined;
      throw error;
    });
  }

  /** Where a fetcher's records and events go while it is the current one. */
  private sinkFor(current: () => boolean): FetcherSink {
    return {
      // A response is decoded synchronously: whether its fetcher is current is settled once per partition.
      visitor: (_topic, partition): FetchedRecordVisitor => {
        const source = current() ? this.sources.get(partition) : undefined;
        if (!source) return IGNORED_RECORDS;
        return {
          record: (offset, timestamp, key, value, headers) => {
            if (source.push({ offset, timestamp, key, value, headers })) this.queued++;
          },
        };
      },
      fetched: () => {
        if (!current()) return;
        this.failures = 0;
        this.failingSince = undefined;
        // One fetcher feeds every partition: it pauses on what all of them hold, so one partition busy with a
        // checkpoint does not stop the others (each may hold a few batches more than its share meanwhile).
        if (this.queued >= 2 * this.batchSize() * this.sources.size) this.fetcher?.pause();
      },
      // Before anything of theirs is fetched: a checkpoint taken before a partition takes a record names where
      // it starts, and a partition whose position was out of range continues where the fetcher restarted it.
      positioned: (positions) => {
        if (!current()) return;
        for (const [key, offset] of positions)
          this.sources.get(splitPartitionKey(key)[1])?.fetchingFrom(offset);
      },
      failed: (error) => {
        if (current()) void this.recover(error);
      },
    };
  }

  /**
   * The fetcher stopped on `error`: a transient one (a broker restarting, a lost connection) reopens it with
   * back-off where each partition continues, nothing lost or read twice; a permanent one (a corrupt batch),
   * or brokers unreachable for `reconnectForMs`, fails every partition, as the `$source` fails.
   */
  private async recover(error: Error): Promise<void> {
    const failure = kafkaFailure(error, `reading partitions of Kafka topic '${this.options.topic}' failed`);
    const since = (this.failingSince ??= Date.now());
    if (!failure.retryable || Date.now() - since >= (this.options.reconnectForMs ?? 60_000)) {
      this.fail(failure);
      return;
    }
    const delay = retryDelay(this.failures++, { initialDelayMs: 250, maxDelayMs: 5_000 });
    const failed = this.fetcher;
    await this.serially(async () => {
      if (this.fetcher !== failed || this.closed) return; // reopened (or closed) meanwhile
      await this.closeFetcher();
      await sleep(delay);
      if (this.fetcher === undefined && !this.closed && this.sources.size > 0) await this.openFetcher();
    }).catch((reopen: unknown) => this.recover(reopen as Error));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const source of this.sources.values()) source.wakeUp();
  }

  /** Why the partitions cannot be read any more, once they cannot. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** Stops feeding `partition` (revoked from this member): the fetcher leaves it out from its next round. */
  release(partition: number): void {
    const source = this.sources.get(partition);
    if (!source) return;
    this.sources.delete(partition);
    this.fetcher?.reassigned();
    this.taken(source.held);
  }

  /** Commits a checkpointed position to the group (lag tools, and where a partition without a checkpoint starts). */
  async commit(partition: number, offset: bigint): Promise<void> {
    await this.consumer
      ?.commit({ offsets: [{ topic: this.options.topic, partition, offset, leaderEpoch: -1 }] })
      .catch(() => undefined);
  }

  /** A partition took `count` messages: lets the fetcher go on once the partitions hold half the bound. */
  taken(count: number): void {
    this.queued = Math.max(0, this.queued - count);
    const fetcher = this.fetcher;
    if (fetcher?.isPaused() && this.queued < this.batchSize() * this.sources.size) fetcher.resume();
  }

  private batchSize(): number {
    return this.options.maxBatchSize ?? 1000;
  }

  /** The log end offset of `partition`, read every 2 s (undefined before the first read). */
  endOffset(partition: number): bigint | undefined {
    return this.logEnd.get(partition);
  }

  private async refreshLogEnd(): Promise<void> {
    try {
      const offsets = await this.consumer?.listOffsets({ topics: [this.options.topic] });
      offsets?.get(this.options.topic)?.forEach((end, partition) => this.logEnd.set(partition, end));
    } catch {
      // Lag is informational; the next read retries.
    }
  }

  private async closeFetcher(): Promise<void> {
    const fetcher = this.fetcher;
    this.fetcher = undefined;
    if (fetcher) await withTimeout(fetcher.close(), CLOSE_TIMEOUT_MS);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.lagTimer);
    await this.serially(() => this.closeFetcher());
    await this.consumer?.close(true).catch(() => undefined);
  }
}

/** Turns one partition's messages into records; its state (if any) is kept in the partition's positions. */
export interface FeedDecoder {
  /** Undefined: the message is skipped (a duplicate). */
  toRecord(message: FetchedMessage): SourceRecord | undefined;
  /** Partitions the watermark of this partition waits for. */
  readonly watermarkPartitions: readonly string[];
  state(): Doc | undefined;
}

/** Plain records of a source topic partition (a scaled-out processor without a window). */
export class SourceTopicDecoder implements FeedDecoder {
  private readonly decoder: KafkaRecordDecoder;
  private readonly topic: string;
  private readonly partition: number;
  readonly watermarkPartitions: readonly string[];

  /** `partitionKey`: the partition's `topic:partition`. */
  constructor(decoder: KafkaRecordDecoder, partitionKey: string) {
    this.decoder = decoder;
    [this.topic, this.partition] = splitPartitionKey(partitionKey);
    this.watermarkPartitions = [partitionKey];
  }

  toRecord(message: FetchedMessage): SourceRecord {
    const { offset, timestamp, key, value, headers } = message;
    return this.decoder.decode(this.topic, this.partition, offset, timestamp, key, value, headers);
  }

  state(): undefined {
    return undefined;
  }
}

const NO_HEADERS: FetchedHeader[] = [];
const EMPTY = Buffer.alloc(0);

/** A source partition a repartitioned record came from, and its `topic:partition` key (the watermark's). */
interface MessageOrigin {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
}

/**
 * Records of a repartition partition. Per source partition it keeps the last source offset taken: a record
 * written again by a reader replaying its source (offset not above that) is dropped, so each source record
 * counts once. The watermark waits for every source partition (`sourcePartitions`), as a single task's does,
 * so no record becomes late only because it was repartitioned.
 *
 * A message is either a forwarded source message (decoded by `records` as the reader decoded it, at its
 * source partition and offset) or a document the reader's stages produced (BSON, `_stream_meta` inside).
 */
export class RepartitionDecoder implements FeedDecoder {
  readonly watermarkPartitions: readonly string[];
  private readonly taken: Map<string, number>;
  private readonly ownPartition: string;
  private readonly records: KafkaRecordDecoder;
  private readonly origins = new Map<string, MessageOrigin>();
  private lastOrigin: { bytes: Buffer; origin: MessageOrigin } | undefined;

  constructor(
    sourcePartitions: readonly string[],
    partitionKey: string,
    saved: Doc | undefined,
    records: KafkaRecordDecoder,
  ) {
    this.watermarkPartitions = sourcePartitions;
    this.ownPartition = partitionKey;
    this.records = records;
    this.taken = new Map(Object.entries(saved ?? {}).map(([key, value]) => [key, Number(value)]));
  }

  toRecord(message: FetchedMessage): SourceRecord | undefined {
    // The reader writes its headers first: source partition, source offset, then the forwarding mark.
    const headers = message.headers ?? NO_HEADERS;
    let at = 0;
    let origin: MessageOrigin | undefined;
    let offset = Number.NaN;
    if (at < headers.length && headers[at][0] === ORIGIN_PARTITION_HEADER)
      origin = this.originOf(headers[at++][1]);
    if (at < headers.length && headers[at][0] === ORIGIN_OFFSET_HEADER)
      offset = Number(headers[at++][1]?.toString());
    if (origin !== undefined && Number.isFinite(offset)) {
      if (offset <= (this.taken.get(origin.key) ?? -1)) return undefined; // written again by a replaying reader
      this.taken.set(origin.key, offset);
    }
    if (origin !== undefined && at < headers.length && headers[at][0] === SOURCE_MESSAGE_HEADER) {
      const own = at + 1 === headers.length ? undefined : headers.slice(at + 1);
      return this.records.decode(
        origin.topic,
        origin.partition,
        offset,
        message.timestamp,
        message.key,
        message.value,
        own,
      );
    }
    const value = message.value ?? EMPTY;
    const doc = decodeRepartitionValue(value);
    const meta = (doc._stream_meta as Doc | undefined)?.source as Doc | undefined;
    return {
      doc,
      partition: origin?.key ?? this.ownPartition,
      timestamp: message.timestamp,
      size: value.length,
      meta,
    };
  }

  /** The source partition named by a header value (`topic:partition`), parsed once per partition. */
  private originOf(bytes: Buffer | null): MessageOrigin | undefined {
    if (bytes === null) return undefined;
    const last = this.lastOrigin;
    if (last !== undefined && last.bytes.equals(bytes)) return last.origin;
    const key = bytes.toString();
    let origin = this.origins.get(key);
    if (!origin) {
      const [topic, partition] = splitPartitionKey(key);
      origin = { topic, partition, key };
      this.origins.set(key, origin);
    }
    this.lastOrigin = { bytes: Buffer.from(bytes), origin }; // a copy: the message's bytes are a fetch's
    return origin;
  }

  state(): Doc {
    return Object.fromEntries(this.taken);
  }
}

/**
 * Why a partition's saved positions cannot be resumed on `topic`, or undefined when they can: positions
 * written for another topic (the processor changed between repartitioning and not, docs/scale-out.md) hold
 * offsets of that topic. Positions from before the topic was saved are told apart by `taken`, which only a
 * repartition partition writes.
 */
export function checkpointTopicMismatch(
  positions: Doc | undefined,
  topic: string,
  repartition: boolean,
): string | undefined {
  if (!positions) return undefined;
  const saved = typeof positions.topic === "string" ? positions.topic : undefined;
  const wrong = saved !== undefined ? saved !== topic : (positions.taken !== undefined) !== repartition;
  if (!wrong) return undefined;
  return (
    `its checkpoint holds positions of ${saved !== undefined ? `topic '${saved}'` : "another topic"}, but it now reads ` +
    `'${topic}': whether the processor repartitions changed (docs/scale-out.md); modify it with ` +
    "resumeFromCheckpoint: false to start over"
  );
}

/** The records of one partition as a runtime Source; its positions are the partition's next offset. */
export class FeedSource implements Source {
  readonly type = "kafka";
  readonly operatorName = "KafkaConsumerOperator";
  readonly rereadsUnhandledRecords = true;
  readonly partition: number;
  private readonly feed: PartitionFeed;
  private readonly topic: string;
  private readonly decoder: FeedDecoder;
  private readonly maxBatchSize: number;
  private queue: FetchedMessage[] = [];
  private wake: (() => void) | undefined;
  private next_: number | undefined;
  private closed = false;

  constructor(
    feed: PartitionFeed,
    where: { readonly topic: string; readonly partition: number },
    decoder: FeedDecoder,
    positions: Doc | undefined,
    maxBatchSize = 1000,
  ) {
    this.feed = feed;
    this.topic = where.topic;
    this.partition = where.partition;
    this.decoder = decoder;
    this.maxBatchSize = maxBatchSize;
    const offset = positions?.offset;
    this.next_ = typeof offset === "string" ? Number(offset) : undefined;
  }

  /** Where the feed fetches this partition from: after what it holds, else its next offset. */
  get fetchFrom(): bigint | undefined {
    // After the highest offset held (next() skips anything below its next offset, so order does not matter).
    let from = this.next_;
    for (const message of this.queue)
      if (from === undefined || message.offset >= from) from = message.offset + 1;
    return from === undefined ? undefined : BigInt(from);
  }

  /** How many messages it holds, not yet taken by its runtime. */
  get held(): number {
    return this.queue.length;
  }

  /**
   * The feed fetches this partition from `offset` on: with nothing held, that is where it continues (a
   * partition without a checkpoint starts at the group's committed offset or the fallback; one whose position
   * was out of range restarts at the fallback, as the `$source` does).
   */
  fetchingFrom(offset: bigint): void {
    if (this.queue.length === 0) this.next_ = Number(offset);
  }

  /** Queues a message from the feed; false when it is dropped (the partition's runtime stopped). */
  push(message: FetchedMessage): boolean {
    if (this.closed) return false;
    this.queue.push(message);
    this.wake?.();
    return true;
  }

  /** Wakes a `next()` waiting for messages (the feed failed). */
  wakeUp(): void {
    this.wake?.();
  }

  async start(): Promise<void> {}

  async next(): Promise<SourceBatch | undefined> {
    if (this.queue.length === 0 && !this.closed && this.feed.failed === undefined) {
      await sleepUntilWoken(500, (wake) => (this.wake = wake));
      this.wake = undefined;
    }
    const failure = this.feed.failed;
    if (failure !== undefined && this.queue.length === 0) throw failure;
    const messages =
      this.queue.length <= this.maxBatchSize ? this.queue : this.queue.splice(0, this.maxBatchSize);
    if (messages === this.queue) this.queue = [];
    this.feed.taken(messages.length);
    const records: SourceRecord[] = [];
    for (const message of messages) {
      // The fetcher starts each partition at its position, but a message read before a reopen may linger.
      if (this.next_ !== undefined && message.offset < this.next_) continue;
      this.next_ = message.offset + 1;
      const record = this.decoder.toRecord(message);
      if (record) records.push(record);
    }
    // Emptied as the runtime empties a batch's records (SourceBatch.records): an old array would keep the
    // messages it points at alive through every scavenge until the next full collection.
    messages.length = 0;
    if (records.length === 0) return { records: [], idle: true };
    return { records };
  }

  partitions(): readonly string[] {
    return this.decoder.watermarkPartitions;
  }

  positions(): Doc {
    // The topic says which layout wrote it (the source's or the repartition topic's): see checkpointTopicMismatch.
    const positions: Doc = { topic: this.topic };
    if (this.next_ !== undefined) positions.offset = String(this.next_);
    const state = this.decoder.state();
    if (state !== undefined) positions.taken = state;
    return positions;
  }

  async acknowledge(positions: Doc): Promise<void> {
    if (typeof positions.offset === "string")
      await this.feed.commit(this.partition, BigInt(positions.offset));
  }

  lag(): SourceLag {
    const end = this.feed.endOffset(this.partition);
    const current = this.next_;
    const lag = end !== undefined && current !== undefined ? Math.max(0, Number(end) - current) : undefined;
    return {
      kafkaPartitions: [
        {
          topic: this.topic,
          partition: this.partition,
          currentOffset: current === undefined ? -1 : current,
          checkpointOffset: -1,
          isIdle: lag === 0,
          ...(lag !== undefined ? { partitionOffsetLag: lag } : {}),
        },
      ],
      kafkaTotalOffsetLag: lag ?? 0,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
  }
}

/**
 * One consumer-group member of a scaled-out processor, split into one {@link FeedSource} per assigned
 * partition so each partition runs (and checkpoints) on its own: the group coordinator decides which task
 * reads which partition, and a partition's state moves with it. It reads either the repartition topic
 * (records a reader re-keyed, {@link RepartitionDecoder}) or, for a processor without a window, the source
 * topic itself ({@link SourceTopicDecoder}).
 *
 * Each partition starts exactly where its own checkpoint says ({@link PartitionFeed.open}); a partition
 * without one starts at the group's committed offset (committed after each of its checkpoints), else at
 * the fallback (`auto_offset_reset`). Otherwise the group is only the assignment.
 */
import { Consumer, type MessagesStream } from "@platformatic/kafka";
import { setTimeout as sleep } from "node:timers/promises";
import type { Doc } from "../../mql/index.ts";
import type { Source, SourceBatch, SourceLag, SourceRecord } from "../../runtime/source.ts";
import {
  INCREMENTAL_REBALANCE_PROTOCOLS,
  type KafkaClientOptions,
  type KafkaConsumerTuning,
} from "./connection.ts";
import type { KafkaMessage, KafkaRecordDecoder } from "./record.ts";
import type { FetchedHeader } from "./record-batch.ts";
import { FETCH_BYTES_PER_PARTITION } from "./source.ts";
import {
  decodeRepartitionValue,
  OFFSET_HEADER_NAME,
  PARTITION_HEADER_NAME,
  SOURCE_MESSAGE_HEADER_NAME,
} from "./repartition.ts";

type KafkaConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>;
type KafkaStream = MessagesStream<Buffer, Buffer, Buffer, Buffer>;

export interface PartitionFeedOptions {
  readonly topic: string;
  readonly groupId: string;
  readonly tuning?: KafkaConsumerTuning;
  readonly maxBatchSize?: number;
  /** Where a partition with neither a checkpoint nor a committed offset starts (default earliest). */
  readonly fallback?: "earliest" | "latest";
  /** Called (not awaited) whenever the group assigned this member another set of partitions. */
  readonly onAssignment: () => void;
}

export class PartitionFeed {
  private readonly client: KafkaClientOptions;
  private readonly options: PartitionFeedOptions;
  private consumer: KafkaConsumer | undefined;
  private stream: KafkaStream | undefined;
  private readonly sources = new Map<number, FeedSource>();
  private readonly logEnd = new Map<number, bigint>();
  private lagTimer: NodeJS.Timeout | undefined;
  private seen = "";
  /** Messages the partitions hold, not yet taken by their runtimes. */
  private queued = 0;

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
    // Subscribed for as long as the feed lives: reopening the stream must not leave and rejoin the group.
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
   * (Re)opens the message stream for the partitions of `sources`, each where it continues: a partition already
   * fed keeps what it holds and is fetched after it, a new one starts at its own next offset (none: the
   * group's committed offset, else the fallback). What the previous stream read ahead is dropped.
   */
  async open(sources: ReadonlyMap<number, FeedSource>): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) throw new Error("PartitionFeed.open() before start()");
    await this.closeStream();
    this.sources.clear();
    for (const [partition, source] of sources) this.sources.set(partition, source);
    if (sources.size === 0) return;
    await this.startFreshAtCommitted(consumer, sources);
    const offsets = [...sources].flatMap(([partition, source]) =>
      source.fetchFrom === undefined
        ? []
        : [{ topic: this.options.topic, partition, offset: source.fetchFrom }],
    );
    const stream = await consumer.consume({
      topics: [this.options.topic],
      autocommit: false,
      maxWaitTime: 500,
      // As the $source's: without it one fetch behind a backlog decodes the whole backlog at once.
      maxBytesPerPartition: FETCH_BYTES_PER_PARTITION,
      mode: "manual",
      fallbackMode: this.options.fallback ?? "earliest",
      offsets,
    });
    this.stream = stream;
    this.queued = [...sources.values()].reduce((total, source) => total + source.held, 0);
    // One stream feeds every partition: it pauses on what all of them hold, so one partition busy with a
    // checkpoint does not stop the others (each may hold a few batches more than its share meanwhile).
    const highWater = 2 * (this.options.maxBatchSize ?? 1000) * sources.size;
    stream.on("data", (message: KafkaMessage) => {
      if (this.stream !== stream) return;
      const source = this.sources.get(message.partition);
      if (!source) return;
      source.push(message);
      if (++this.queued >= highWater) stream.pause();
    });
    stream.on("error", () => undefined); // the task reopens on its next rebalance or fails on its own
  }

  /** Stops feeding `partition` (revoked from this member); the stream skips its messages from now on. */
  release(partition: number): void {
    const source = this.sources.get(partition);
    if (!source) return;
    this.sources.delete(partition);
    this.taken(source.held);
  }

  /** Partitions without a checkpoint start at the group's committed offset, when there is one. */
  private async startFreshAtCommitted(
    consumer: KafkaConsumer,
    sources: ReadonlyMap<number, FeedSource>,
  ): Promise<void> {
    const fresh = [...sources].filter(([, source]) => source.nextOffset === undefined);
    if (fresh.length === 0) return;
    const { topic } = this.options;
    const commits = await consumer.listCommittedOffsets({
      topics: [{ topic, partitions: fresh.map(([partition]) => partition) }],
    });
    const committed = commits.get(topic) ?? [];
    for (const [partition, source] of fresh) {
      const offset = committed[partition];
      if (offset !== undefined && offset >= 0n) source.startAt(offset);
    }
  }

  /** Commits a checkpointed position to the group (lag tools, and where a partition without a checkpoint starts). */
  async commit(partition: number, offset: bigint): Promise<void> {
    await this.consumer
      ?.commit({ offsets: [{ topic: this.options.topic, partition, offset, leaderEpoch: -1 }] })
      .catch(() => undefined);
  }

  /** A partition took `count` messages: lets the stream flow again once the partitions hold half the bound. */
  taken(count: number): void {
    this.queued = Math.max(0, this.queued - count);
    const stream = this.stream;
    if (!stream?.isPaused()) return;
    if (this.queued < (this.options.maxBatchSize ?? 1000) * this.sources.size) stream.resume();
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

  private async closeStream(): Promise<void> {
    const stream = this.stream;
    this.stream = undefined;
    if (stream) await stream.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    clearInterval(this.lagTimer);
    await this.closeStream();
    await this.consumer?.close(true).catch(() => undefined);
  }
}

/** Turns one partition's messages into records; its state (if any) is kept in the partition's positions. */
export interface FeedDecoder {
  /** Undefined: the message is skipped (a duplicate). */
  toRecord(message: KafkaMessage): SourceRecord | undefined;
  /** Partitions the watermark of this partition waits for. */
  readonly watermarkPartitions: readonly string[];
  state(): Doc | undefined;
}

/** Plain records of a source topic partition (a scaled-out processor without a window). */
export class SourceTopicDecoder implements FeedDecoder {
  private readonly decoder: KafkaRecordDecoder;
  readonly watermarkPartitions: readonly string[];

  constructor(decoder: KafkaRecordDecoder, partitionKey: string) {
    this.decoder = decoder;
    this.watermarkPartitions = [partitionKey];
  }

  toRecord(message: KafkaMessage): SourceRecord {
    return this.decoder.toRecord(message);
  }

  state(): undefined {
    return undefined;
  }
}

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

  toRecord(message: KafkaMessage): SourceRecord | undefined {
    // The reader writes its headers first: source partition, source offset, then the forwarding mark.
    const headers = message.headerEntries;
    let at = 0;
    let origin: MessageOrigin | undefined;
    let offset = Number.NaN;
    if (at < headers.length && headers[at][0].equals(PARTITION_HEADER_NAME))
      origin = this.originOf(headers[at++][1]);
    if (at < headers.length && headers[at][0].equals(OFFSET_HEADER_NAME))
      offset = Number(headers[at++][1].toString());
    if (origin !== undefined && Number.isFinite(offset)) {
      if (offset <= (this.taken.get(origin.key) ?? -1)) return undefined; // written again by a replaying reader
      this.taken.set(origin.key, offset);
    }
    if (origin !== undefined && at < headers.length && headers[at][0].equals(SOURCE_MESSAGE_HEADER_NAME)) {
      const own =
        at + 1 === headers.length
          ? undefined
          : headers.slice(at + 1).map(([name, value]) => [name.toString(), value ?? null] as FetchedHeader);
      return this.records.decode(
        origin.topic,
        origin.partition,
        offset,
        Number(message.timestamp),
        message.key ?? null,
        message.value ?? null,
        own,
      );
    }
    const value = message.value ?? Buffer.alloc(0);
    const doc = decodeRepartitionValue(value);
    const meta = (doc._stream_meta as Doc | undefined)?.source as Doc | undefined;
    return {
      doc,
      partition: origin?.key ?? this.ownPartition,
      timestamp: Number(message.timestamp),
      size: value.length,
      meta,
    };
  }

  /** The source partition named by a header value (`topic:partition`), parsed once per partition. */
  private originOf(bytes: Buffer): MessageOrigin {
    const last = this.lastOrigin;
    if (last !== undefined && last.bytes.equals(bytes)) return last.origin;
    const key = bytes.toString();
    let origin = this.origins.get(key);
    if (!origin) {
      const colon = key.lastIndexOf(":");
      origin = { topic: key.slice(0, colon), partition: Number(key.slice(colon + 1)), key };
      this.origins.set(key, origin);
    }
    this.lastOrigin = { bytes: Buffer.from(bytes), origin }; // a copy: the message's bytes hold a whole fetch
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
  private queue: KafkaMessage[] = [];
  private wake: (() => void) | undefined;
  private next_: bigint | undefined;
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
    this.next_ = typeof offset === "string" ? BigInt(offset) : undefined;
  }

  /** Where this partition continues (undefined: not known yet). */
  get nextOffset(): bigint | undefined {
    return this.next_;
  }

  /** Where the feed fetches this partition from: after what it holds, else its next offset. */
  get fetchFrom(): bigint | undefined {
    // After the highest offset held (next() skips anything below its next offset, so order does not matter).
    let from = this.next_;
    for (const message of this.queue)
      if (from === undefined || message.offset >= from) from = message.offset + 1n;
    return from;
  }

  /** How many messages it holds, not yet taken by its runtime. */
  get held(): number {
    return this.queue.length;
  }

  /** Starts a partition without a checkpoint at the group's committed offset. */
  startAt(offset: bigint): void {
    this.next_ ??= offset;
  }

  /** Queues a message from the feed. */
  push(message: KafkaMessage): void {
    if (this.closed) return;
    this.queue.push(message);
    this.wake?.();
  }

  async start(): Promise<void> {}

  async next(): Promise<SourceBatch | undefined> {
    if (this.queue.length === 0 && !this.closed) {
      const ac = new AbortController();
      await Promise.race([
        new Promise<void>((resolve) => (this.wake = resolve)),
        sleep(500, undefined, { signal: ac.signal }).catch(() => undefined),
      ]);
      ac.abort();
      this.wake = undefined;
    }
    const messages = this.queue.splice(0, this.maxBatchSize);
    this.feed.taken(messages.length);
    const records: SourceRecord[] = [];
    for (const message of messages) {
      // The stream starts each partition at its position, but a message read before a reopen may linger.
      if (this.next_ !== undefined && message.offset < this.next_) continue;
      this.next_ = message.offset + 1n;
      const record = this.decoder.toRecord(message);
      if (record) records.push(record);
    }
    if (records.length === 0) return { records: [], idle: true };
    return { records };
  }

  partitions(): readonly string[] {
    return this.decoder.watermarkPartitions;
  }

  positions(): Doc {
    // The topic says which layout wrote it (the source's or the repartition topic's): see checkpointTopicMismatch.
    const positions: Doc = { topic: this.topic };
    if (this.next_ !== undefined) positions.offset = this.next_.toString();
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
    const lag = end !== undefined && current !== undefined ? Math.max(0, Number(end - current)) : undefined;
    return {
      kafkaPartitions: [
        {
          topic: this.topic,
          partition: this.partition,
          currentOffset: current === undefined ? -1 : Number(current),
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

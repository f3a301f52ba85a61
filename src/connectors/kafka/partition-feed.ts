/**
 * One consumer-group member reading the repartition topic of a scaled-out processor, split into one
 * {@link FeedSource} per assigned partition so each partition runs (and checkpoints) on its own: the group
 * coordinator decides which task reads which partition, and a partition's state moves with it.
 *
 * The member never trusts the group's committed offsets: each partition's source starts exactly where that
 * partition's own checkpoint says ({@link PartitionFeed.open}). The group is only the assignment.
 */
import { Consumer, type Message, type MessagesStream } from "@platformatic/kafka";
import { setTimeout as sleep } from "node:timers/promises";
import { parseExtendedJson } from "../../codec/ejson.ts";
import type { Doc } from "../../mql/index.ts";
import type { Source, SourceBatch, SourceLag, SourceRecord } from "../../runtime/source.ts";
import type { KafkaClientOptions, KafkaConsumerTuning } from "./connection.ts";
import { ORIGIN_OFFSET_HEADER, ORIGIN_PARTITION_HEADER } from "./repartition.ts";

type KafkaMessage = Message<Buffer, Buffer, Buffer, Buffer>;
type KafkaConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>;
type KafkaStream = MessagesStream<Buffer, Buffer, Buffer, Buffer>;

export interface PartitionFeedOptions {
  readonly topic: string;
  readonly groupId: string;
  readonly tuning?: KafkaConsumerTuning;
  readonly maxBatchSize?: number;
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
   * (Re)opens the message stream for the partitions of `sources`, each at its own next offset (none: the
   * topic's start); the previous stream and whatever it read ahead are dropped.
   */
  async open(sources: ReadonlyMap<number, FeedSource>): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) throw new Error("PartitionFeed.open() before start()");
    await this.closeStream();
    this.sources.clear();
    for (const [partition, source] of sources) this.sources.set(partition, source);
    if (sources.size === 0) return;
    const offsets = [...sources].flatMap(([partition, source]) =>
      source.nextOffset === undefined ? [] : [{ topic: this.options.topic, partition, offset: source.nextOffset }],
    );
    const stream = await consumer.consume({
      topics: [this.options.topic],
      autocommit: false,
      maxWaitTime: 500,
      mode: "manual",
      fallbackMode: "earliest",
      offsets,
    });
    this.stream = stream;
    const highWater = 2 * (this.options.maxBatchSize ?? 1000);
    stream.on("data", (message: KafkaMessage) => {
      if (this.stream !== stream) return;
      const source = this.sources.get(message.partition);
      if (!source) return;
      if (source.push(message) >= highWater) stream.pause();
    });
    stream.on("error", () => undefined); // the task reopens on its next rebalance or fails on its own
  }

  /** Lets the stream flow again once every source has room. */
  resumeIfRoom(): void {
    const stream = this.stream;
    if (!stream?.isPaused()) return;
    const max = this.options.maxBatchSize ?? 1000;
    for (const source of this.sources.values()) if (source.queued() >= max) return;
    stream.resume();
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

/**
 * The records of one repartition partition as a runtime Source. Positions are the partition's next offset
 * plus, per source partition, the last source offset taken: a record written again by a task replaying its
 * source (offset not above that) is dropped, so each source record counts once.
 */
export class FeedSource implements Source {
  readonly type = "kafka";
  readonly operatorName = "KafkaConsumerOperator";
  readonly partition: number;
  private readonly feed: PartitionFeed;
  private readonly topic: string;
  private readonly maxBatchSize: number;
  private queue: KafkaMessage[] = [];
  private wake: (() => void) | undefined;
  private next_: bigint | undefined;
  private readonly taken: Map<string, number>;
  private closed = false;
  private readonly sourcePartitions: readonly string[];

  /**
   * `sourcePartitions`: every partition of the processor's source (`topic:partition`): the watermark of
   * this partition waits for each of them, as a single task's does, so no record becomes late only because
   * it was repartitioned.
   */
  constructor(
    feed: PartitionFeed,
    where: { readonly topic: string; readonly partition: number; readonly sourcePartitions: readonly string[] },
    positions: Doc | undefined,
    maxBatchSize = 1000,
  ) {
    this.feed = feed;
    this.topic = where.topic;
    this.partition = where.partition;
    this.sourcePartitions = where.sourcePartitions;
    this.maxBatchSize = maxBatchSize;
    const offset = positions?.offset;
    this.next_ = typeof offset === "string" ? BigInt(offset) : undefined;
    const taken = (positions?.taken as Doc | undefined) ?? {};
    this.taken = new Map(Object.entries(taken).map(([key, value]) => [key, Number(value)]));
  }

  /** Where this partition continues (undefined: from the topic's start). */
  get nextOffset(): bigint | undefined {
    return this.next_;
  }

  /** Queues a message from the feed; returns how many are queued. */
  push(message: KafkaMessage): number {
    if (!this.closed) {
      this.queue.push(message);
      this.wake?.();
    }
    return this.queue.length;
  }

  queued(): number {
    return this.queue.length;
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
    this.feed.resumeIfRoom();
    const records: SourceRecord[] = [];
    for (const message of messages) {
      // The stream starts each partition at its checkpoint, but a message read before a reopen may linger.
      if (this.next_ !== undefined && message.offset < this.next_) continue;
      this.next_ = message.offset + 1n;
      const record = this.toRecord(message);
      if (record) records.push(record);
    }
    if (records.length === 0) return { records: [], idle: true };
    return { records };
  }

  private toRecord(message: KafkaMessage): SourceRecord | undefined {
    const header = (name: string) => {
      for (const [key, value] of message.headerEntries) if (key.toString() === name) return value.toString();
      return undefined;
    };
    const origin = header(ORIGIN_PARTITION_HEADER);
    const offset = Number(header(ORIGIN_OFFSET_HEADER));
    if (origin !== undefined && Number.isFinite(offset)) {
      if (offset <= (this.taken.get(origin) ?? -1)) return undefined; // written again by a replaying task
      this.taken.set(origin, offset);
    }
    const value = message.value ?? Buffer.alloc(0);
    const doc = parseExtendedJson(value.toString("utf8")) as Doc;
    const meta = (doc._stream_meta as Doc | undefined)?.source as Doc | undefined;
    return {
      doc,
      partition: origin ?? `${this.topic}:${this.partition}`,
      timestamp: Number(message.timestamp),
      size: value.length,
      meta,
    };
  }

  partitions(): readonly string[] {
    return this.sourcePartitions;
  }

  positions(): Doc {
    const positions: Doc = { taken: Object.fromEntries(this.taken) };
    if (this.next_ !== undefined) positions.offset = this.next_.toString();
    return positions;
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

/**
 * `$source` on Kafka topics (docs/asp-semantics.md §1.2). Each partition is its own watermark partition
 * (`topic:partition`). Values are parsed as (Extended) JSON; a value that is not, or a key that does not
 * decode under `keyFormat` with `keyFormatError: "dlq"`, becomes a DLQ record carrying the raw bytes
 * (base64), topic, partition and offset. Start position: explicit offsets (a checkpoint), else the
 * consumer group's committed offsets, else `auto_offset_reset`; a partition that comes back after the
 * group gave it to another member continues where that member committed, or where this one left it when
 * that is further ({@link KafkaSource.startAt}). Offsets are committed to the consumer group only through
 * `acknowledge`, i.e. after a checkpoint covering them was saved.
 *
 * Records are fetched by Eddy's own fetch loop (fetcher.ts: Fetch requests and record batches decoded
 * straight into source records); the client's Consumer keeps the group membership, metadata and offsets.
 *
 * A lost broker connection (a broker restart, a network blip) is survived in place: the fetcher is
 * dropped with whatever it had read ahead and reopened exactly at the positions handed over so far,
 * with back-off, so nothing is lost or skipped. Only when the brokers stay unreachable for
 * `reconnectForMs` does `next()` throw a retryable {@link ConnectorError}; authentication failures and
 * unknown topics throw a non-retryable one at once.
 */
import { Consumer } from "@platformatic/kafka";
import { setTimeout as sleep } from "node:timers/promises";
import type { Doc } from "../../mql/index.ts";
import type { SourcePlan } from "../../pipeline/plan.ts";
import type { KafkaSourceOptions as KafkaSourcePlanOptions } from "./spec.ts";
import type {
  KafkaPartitionLag,
  Source,
  SourceBatch,
  SourceLag,
  SourceRecord,
} from "../../runtime/source.ts";
import { ReachabilityTracker } from "../../runtime/source-reachability.ts";
import { KafkaRecordDecoder, keepMessage, splitPartitionKey } from "./record.ts";
import { sleepUntilWoken } from "./wake-up.ts";
import { CLOSE_TIMEOUT_MS, Fetcher, withTimeout, type FetcherSink } from "./fetcher.ts";
import type { FetchedHeader, FetchedRecordVisitor } from "./record-batch.ts";
import {
  INCREMENTAL_REBALANCE_PROTOCOLS,
  type KafkaClientOptions,
  type KafkaConsumerTuning,
} from "./connection.ts";
import { isTransientKafkaError, kafkaFailure } from "./errors.ts";
import { retryDelay } from "../retry.ts";

export type KafkaSourcePlan = SourcePlan<KafkaSourcePlanOptions>;

export interface KafkaSourceOptions {
  /** Next offset to read per `topic:partition` (from a checkpoint). */
  readonly startOffsets?: Readonly<Record<string, string | number | bigint>>;
  /**
   * The group of a persistent processor whose `$source` sets no `group_id` (ASP: `asp-<processor>-consumer`);
   * checkpointed offsets are committed to it.
   */
  readonly groupId?: string;
  /** Group for ephemeral processors that set none (they get a fresh one, so nothing is shared). */
  readonly fallbackGroupId?: string;
  /** Session and heartbeat timing of the consumer group (from the connection's config). */
  readonly tuning?: KafkaConsumerTuning;
  readonly maxBatchSize?: number;
  /** How long `next()` waits for a first message before reporting the source idle (default 500 ms). */
  readonly idleWaitMs?: number;
  /** How long to keep reconnecting after the brokers became unreachable before `next()` throws (default 60 s). */
  readonly reconnectForMs?: number;
  /** Called each time the source reopens its fetcher after a lost connection. */
  readonly onReconnect?: (reason: string, attempt: number) => void;
  /** How often the partitions' log end offsets are read, for the offset lag and to notice added partitions (default 5 s). */
  readonly lagIntervalMs?: number;
  /** Bytes one fetch may return per partition (default {@link FETCH_BYTES_PER_PARTITION}). */
  readonly fetchBytesPerPartition?: number;
  /**
   * Keeps each record's message on its document ({@link keepMessage}): the repartition step forwards a
   * record that reaches it unchanged as its source message, instead of encoding the document
   * (docs/scale-out.md).
   */
  readonly keepsMessages?: boolean;
  /**
   * Rebalances incrementally (cooperative-sticky, {@link INCREMENTAL_REBALANCE_PROTOCOLS}) instead of eagerly
   * (round-robin): a scaled-out processor's readers share the group, and a reader joining or leaving then
   * moves only the partitions it must; the others keep their positions and are read on (docs/scale-out.md).
   */
  readonly incrementalRebalance?: boolean;
}

type KafkaConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>;

/** The visitor of a replaced fetcher's response: its records are dropped (the new fetcher reads them again). */
const IGNORED_RECORDS: FetchedRecordVisitor = { record: () => undefined };

const EARLIEST = new Set(["earliest", "beginning", "smallest"]);

/**
 * Bytes one fetch may return per partition: the Java consumer's `max.partition.fetch.bytes` default. The
 * client's own default is its whole-response bound (50 MB), so behind a backlog one fetch decoded a whole
 * topic's worth of messages at once (about 250,000 of the bench's records): hundreds of MB of heap and GC
 * pauses of 0.5 s (bench:connectors latency at 100,000 events/s), for no gain in throughput.
 */
export const FETCH_BYTES_PER_PARTITION = 1024 * 1024;

export class KafkaSource implements Source {
  readonly type = "kafka";
  readonly operatorName = "KafkaConsumerOperator";
  readonly rereadsUnhandledRecords = true;
  private readonly client: KafkaClientOptions;
  private readonly plan: KafkaSourcePlanOptions;
  private readonly options: KafkaSourceOptions;
  private readonly decoder: KafkaRecordDecoder;
  private consumer: KafkaConsumer | undefined;
  private fetcher: Fetcher | undefined;
  /** Why the fetcher must be reopened (a broker connection dropped, a fetch failed), if it must. */
  private disruption: string | undefined;
  private closed = false;
  /** Next offset per `topic:partition` after what was handed over. */
  private readonly nextOffsets = new Map<string, bigint>();
  /**
   * Records the fetcher decoded and `next()` has not handed over yet; the fetcher pauses while this holds
   * `2 × maxBatchSize`.
   */
  private queue: SourceRecord[] = [];
  private wakeReader: (() => void) | undefined;
  /** Where each assigned partition started, for partitions that have handed nothing over yet. */
  private readonly startedAt = new Map<string, bigint>();
  /** Next offset per `topic:partition` in the checkpoint the source started from. */
  private readonly checkpointed = new Map<string, bigint>();
  /** False for an ephemeral processor's throw-away group: nothing to commit there. */
  private commitsOffsets = true;
  private groupId: string | undefined;
  /** Log end offset per `topic:partition`, read every `lagIntervalMs`. */
  private readonly logEnd = new Map<string, bigint>();
  /** Next offset per `topic:partition` in the last checkpoint committed to the group. */
  private readonly committed = new Map<string, bigint>();
  private lagTimer: NodeJS.Timeout | undefined;
  /** Partitions per topic when the log end offsets were last read. */
  private readonly partitionCounts = new Map<string, number>();
  private rejoining = false;
  private readonly reachability = new ReachabilityTracker();

  constructor(client: KafkaClientOptions, plan: KafkaSourcePlan, options: KafkaSourceOptions = {}) {
    this.client = client;
    this.plan = plan.options;
    this.options = options;
    this.decoder = new KafkaRecordDecoder(plan.options);
  }

  async start(): Promise<void> {
    const configuredGroup = this.plan.config.group_id;
    const stableGroup = configuredGroup ?? this.options.groupId;
    const groupId = stableGroup ?? this.options.fallbackGroupId;
    if (!groupId) throw new Error("a Kafka source needs config.group_id (or a fallback group)");
    this.commitsOffsets = stableGroup !== undefined || this.options.fallbackGroupId === undefined;
    this.groupId = groupId;
    // Like Java consumers (allow.auto.create.topics): a missing topic is created when the broker allows it,
    // else the start fails with a non-retryable "Unknown topic".
    this.consumer = new Consumer({
      ...this.client,
      ...this.options.tuning,
      groupId,
      autocommit: false,
      autocreateTopics: true,
      ...(this.options.incrementalRebalance ? { protocols: [...INCREMENTAL_REBALANCE_PROTOCOLS] } : {}),
    });
    this.consumer.on("client:broker:disconnect", () => this.disrupt("lost the connection to a broker"));
    for (const [key, offset] of Object.entries(this.options.startOffsets ?? {}))
      this.checkpointed.set(key, BigInt(offset));
    try {
      await this.open();
    } catch (error) {
      throw kafkaFailure(error, `Kafka $source on ${this.topicList()} could not start`);
    }
    void this.refreshLag();
    this.lagTimer = setInterval(() => void this.refreshLag(), this.options.lagIntervalMs ?? 5_000);
    this.lagTimer.unref();
  }

  /** Reads the log end offsets; a failure marks the brokers unreachable until a read succeeds again. */
  private async refreshLag(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer || this.closed) return;
    try {
      const offsets = await consumer.listOffsets({ topics: [...this.plan.topics] });
      for (const [topic, ends] of offsets)
        ends.forEach((end, partition) => this.logEnd.set(`${topic}:${partition}`, end));
      this.reachability.ok();
      void this.joinIfPartitionsAdded(consumer, offsets);
    } catch (error) {
      if (!this.closed)
        this.reachability.failed(kafkaFailure(error, "reading the log end offsets failed").message);
    }
  }

  /**
   * Rejoins the group when a topic has more partitions than at the last read. The client's group leader
   * assigns partitions only when the group (re)joins, and nothing else makes it rejoin when a topic gains
   * partitions: they would never be read. A leader's rejoin rebalances the group, and every member sees the
   * new count within `lagIntervalMs`. A failed rejoin keeps the old counts, so the next read tries again.
   */
  private async joinIfPartitionsAdded(
    consumer: KafkaConsumer,
    offsets: ReadonlyMap<string, readonly bigint[]>,
  ): Promise<void> {
    if (this.rejoining) return;
    const added = [...offsets].some(
      ([topic, ends]) => ends.length > (this.partitionCounts.get(topic) ?? ends.length),
    );
    if (added) {
      this.rejoining = true;
      const joined = await consumer.joinGroup({}).then(
        () => true,
        () => false,
      );
      this.rejoining = false;
      if (!joined) return;
    }
    for (const [topic, ends] of offsets) this.partitionCounts.set(topic, ends.length);
  }

  /** ASP's `kafkaPartitions[]` and `kafkaTotalOffsetLag` (log end offset − next offset to read). */
  lag(): SourceLag {
    const keys = new Set<string>([
      ...this.partitions(),
      ...this.startedAt.keys(),
      ...this.nextOffsets.keys(),
    ]);
    const partitions: KafkaPartitionLag[] = [];
    let total = 0;
    for (const key of [...keys].sort(comparePartitionKeys)) {
      const [topic, partition] = splitPartitionKey(key);
      const current = this.nextOffsets.get(key) ?? this.startedAt.get(key);
      const end = this.logEnd.get(key);
      const lag = current !== undefined && end !== undefined ? Math.max(0, Number(end - current)) : undefined;
      total += lag ?? 0;
      partitions.push({
        partition,
        topic,
        currentOffset: current === undefined ? -1 : Number(current),
        checkpointOffset: Number(this.committed.get(key) ?? -1n),
        isIdle: lag === 0,
        ...(lag !== undefined ? { partitionOffsetLag: lag } : {}),
      });
    }
    return {
      kafkaPartitions: partitions,
      kafkaTotalOffsetLag: total,
      ...(this.groupId !== undefined ? { kafkaConsumerGroup: this.groupId } : {}),
      sourceStatus: this.reachability.get(),
    };
  }

  /** Starts fetching each assigned partition where {@link startAt} says. */
  private async open(): Promise<void> {
    const consumer = this.consumer as KafkaConsumer;
    this.disruption = undefined;
    this.queue = [];
    const fetcher: Fetcher = new Fetcher(
      consumer,
      this.client,
      {
        topics: this.plan.topics,
        startAt: (key, committed) => this.startAt(key, committed),
        fallback: EARLIEST.has(this.plan.config.auto_offset_reset) ? "earliest" : "latest",
        maxWaitMs: 500,
        bytesPerPartition: this.options.fetchBytesPerPartition ?? FETCH_BYTES_PER_PARTITION,
      },
      this.sinkFor((): boolean => this.fetcher === fetcher),
    );
    this.fetcher = fetcher;
    await fetcher.start().catch((error: unknown) => {
      this.fetcher = undefined;
      throw error;
    });
  }

  /**
   * Where a partition the group assigns starts (ASP's order: the checkpoint, else the group's committed
   * offset, else `auto_offset_reset`), and where one this source held before continues: a partition the group
   * took away and gave back, or any partition when the fetcher is reopened.
   *
   * Such a partition continues at the further of where this source left it (what it handed over, which its
   * next checkpoint covers) and the group's committed offset. Before it: records this source already handed
   * over would be handed over twice. Further: another member of the group held the partition meanwhile and
   * committed what it read, i.e. handled it (commits follow its checkpoints); reading it again would handle
   * it twice. (The offsets the source started from are no guide here: they are at most where it left it.)
   *
   * A partition first assigned in this run starts at the checkpoint when it names it: ASP restarts from the
   * checkpoint and uses the group's offsets only for partitions it lacks. In a group only this processor
   * uses, a committed offset is never past the checkpoint anyway (it is committed after the checkpoint is
   * saved).
   */
  private startAt(key: string, committed: bigint | undefined): bigint | undefined {
    const left = this.nextOffsets.get(key) ?? this.startedAt.get(key);
    if (left === undefined) return this.checkpointed.get(key) ?? committed;
    return committed !== undefined && committed > left ? committed : left;
  }

  /** Where a fetcher's records and events go while it is the current one. */
  private sinkFor(current: () => boolean): FetcherSink {
    const highWater = 2 * (this.options.maxBatchSize ?? 1000);
    const decoder = this.decoder;
    const keepsMessages = this.options.keepsMessages === true;
    return {
      // A response is decoded synchronously, so whether its fetcher is still the current one is settled once
      // per partition of it, not per record.
      visitor: (topic, partition): FetchedRecordVisitor =>
        current()
          ? {
              record: (offset, timestamp, key, value, headers: FetchedHeader[] | undefined) => {
                const record = decoder.decode(topic, partition, offset, timestamp, key, value, headers);
                if (keepsMessages && record.doc) keepMessage(record.doc, { key, value, headers });
                this.queue.push(record);
              },
            }
          : IGNORED_RECORDS,
      fetched: () => {
        if (!current()) return;
        if (this.queue.length >= highWater) this.fetcher?.pause();
        if (this.queue.length > 0) this.wakeReader?.();
      },
      // Offsets are assigned before they are fetched: a checkpoint taken before a partition hands anything
      // over must still name where it started, or a resume would start it elsewhere. A partition that comes
      // back at another member's committed offset continues there.
      positioned: (positions) => {
        if (!current()) return;
        for (const [key, offset] of positions) {
          const held = this.nextOffsets.has(key) ? this.nextOffsets : this.startedAt;
          if ((held.get(key) ?? -1n) < offset) held.set(key, offset);
        }
      },
      // As a Java consumer drops what it fetched of a revoked partition: its new holder reads those records,
      // and they would be fetched again if the partition came back.
      revoked: (keys) => {
        if (!current()) return;
        const gone = new Set<unknown>(keys);
        this.queue = this.queue.filter((record) => !gone.has(record.partition));
      },
      failed: (error) => {
        if (current()) this.disrupt(`fetching failed: ${error.message}`, error);
      },
    };
  }

  private disrupt(reason: string, error?: Error): void {
    if (this.closed) return;
    this.disruption ??= reason;
    if (error && !isTransientKafkaError(error)) this.fatal ??= error;
  }

  /** A non-retryable fetch error (e.g. the topic was deleted and auto-creation is off, a corrupt batch). */
  private fatal: Error | undefined;

  /**
   * Drops the fetcher (and what it read ahead) and reopens it at the handed-over positions, retrying with
   * back-off while the brokers are unreachable.
   */
  private async reconnect(): Promise<void> {
    const reason = this.disruption ?? "the connection was lost";
    const stale = this.fetcher;
    this.fetcher = undefined;
    if (stale) await withTimeout(stale.close(), CLOSE_TIMEOUT_MS);
    const deadline = Date.now() + (this.options.reconnectForMs ?? 60_000);
    for (let attempt = 0; ; attempt++) {
      if (this.fatal) throw kafkaFailure(this.fatal, `Kafka $source on ${this.topicList()} failed`);
      this.options.onReconnect?.(reason, attempt + 1);
      try {
        await this.open();
        this.reachability.ok();
        return;
      } catch (error) {
        const failure = kafkaFailure(
          error,
          `Kafka $source on ${this.topicList()} lost its brokers (${reason})`,
        );
        this.reachability.failed(failure.message);
        if (!failure.retryable || Date.now() >= deadline || this.closed) throw failure;
        await sleep(retryDelay(attempt, { initialDelayMs: 250, maxDelayMs: 5_000 }));
      }
    }
  }

  private topicList(): string {
    return this.plan.topics.map((t) => `'${t}'`).join(", ");
  }

  async next(): Promise<SourceBatch | undefined> {
    if (!this.consumer) throw new Error("KafkaSource.next() before start()");
    if (this.disruption !== undefined || !this.fetcher) await this.reconnect();
    const fetcher = this.fetcher as Fetcher;
    const max = this.options.maxBatchSize ?? 1000;
    if (this.queue.length === 0) await this.firstRecord();
    const records = this.queue.length <= max ? this.queue : this.queue.splice(0, max);
    if (records === this.queue) this.queue = [];
    // Fetching again while a batch is still queued: behind a backlog, the next fetch's round trip overlaps
    // processing that batch instead of leaving the runtime without input.
    if (fetcher.isPaused() && this.queue.length < 2 * max) fetcher.resume();
    if (records.length === 0) return { records: [], idle: true };
    this.advanceOffsets(records);
    return { records };
  }

  /** Waits until a record is queued or `idleWaitMs` passed. */
  private async firstRecord(): Promise<void> {
    await sleepUntilWoken(this.options.idleWaitMs ?? 500, (wake) => (this.wakeReader = wake));
    this.wakeReader = undefined;
  }

  /** Records where each partition continues: after the last of its records in `records`. */
  private advanceOffsets(records: readonly SourceRecord[]): void {
    for (let i = records.length - 1; i >= 0; i--) {
      const record = records[i];
      const key = record.partition as string;
      const next = BigInt((record.meta as Doc).offset as number) + 1n;
      if ((this.nextOffsets.get(key) ?? -1n) < next) this.nextOffsets.set(key, next);
      // Records of one partition mostly come in one run: the rest of the run cannot be later.
      while (i > 0 && records[i - 1].partition === key) i--;
    }
  }

  /** The group's current assignment as `topic:partition`s (the watermark waits for each of them). */
  partitions(): readonly string[] {
    const assignments = this.consumer?.assignments ?? null;
    if (assignments !== this.assignmentsSeen) {
      this.assignmentsSeen = assignments;
      this.assigned = (assignments ?? []).flatMap(({ topic, partitions }) =>
        partitions.map((p) => `${topic}:${p}`),
      );
    }
    return this.assigned;
  }

  private assignmentsSeen: KafkaConsumer["assignments"] = null;
  private assigned: readonly string[] = [];

  /** Next offset to read per `topic:partition`: what a checkpoint stores. */
  positions(): Doc {
    const offsets: Doc = {};
    for (const [key, offset] of this.startedAt)
      if (!this.nextOffsets.has(key)) offsets[key] = offset.toString();
    for (const [key, offset] of this.nextOffsets) offsets[key] = offset.toString();
    return { offsets };
  }

  /**
   * Commits checkpointed offsets to the consumer group (for lag monitoring and for consumers without a
   * checkpoint); restarts use the checkpoint itself. A failed commit is not an error: the checkpoint is
   * already safe and the next one commits again.
   *
   * Only partitions the group assigns this member now are committed. The positions still name partitions
   * it held before a rebalance, at the offset it reached then; committing those would overwrite the new
   * owner's commits with an older offset, and a member taking the partition over after that (the owner was
   * killed) would start from it and read it again from there.
   */
  async acknowledge(positions: Doc): Promise<void> {
    const consumer = this.consumer;
    const assigned = new Set(this.partitions());
    const offsets = Object.entries((positions.offsets as Doc | undefined) ?? {}).filter(([key]) =>
      assigned.has(key),
    );
    for (const [key, offset] of offsets) this.committed.set(key, BigInt(offset as string));
    if (!consumer || !this.commitsOffsets || offsets.length === 0) return;
    await consumer
      .commit({
        offsets: offsets.map(([key, offset]) => {
          const [topic, partition] = splitPartitionKey(key);
          return { topic, partition, offset: BigInt(offset as string), leaderEpoch: -1 };
        }),
      })
      .catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.lagTimer);
    const consumer = this.consumer;
    if (!consumer) return;
    if (this.fetcher) await withTimeout(this.fetcher.close(), CLOSE_TIMEOUT_MS);
    await withTimeout(consumer.close(true), CLOSE_TIMEOUT_MS);
  }
}

function comparePartitionKeys(a: string, b: string): number {
  const [topicA, partitionA] = splitPartitionKey(a);
  const [topicB, partitionB] = splitPartitionKey(b);
  return topicA === topicB ? partitionA - partitionB : topicA < topicB ? -1 : 1;
}

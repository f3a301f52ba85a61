/**
 * The repartition step of a scaled-out processor (docs/scale-out.md): records are re-keyed by their window's
 * group key and written to the internal topic `eddy-<processor>-repartition`, which has the source's
 * partition count, so every key's windows live in exactly one repartition partition and hence in one task.
 *
 * Each message carries its event time as the Kafka timestamp and, in headers, the source partition and
 * offset it came from. A task replaying its source after a rebalance or a crash writes some records again;
 * the reading side drops them because, per source partition, offsets only grow ({@link SourceOrigin}).
 */
import { Admin, murmur2, Producer, type MessageToProduce } from "@platformatic/kafka";
import { deserialize, serialize } from "bson";
import { groupKeyOf } from "../../mql/group-key.ts";
import type { Doc, Evaluator } from "../../mql/index.ts";
import type { Sink, SinkResult } from "../../runtime/sink.ts";
import { decodeState, encodeState } from "../../runtime/state-codec.ts";
import type { KafkaClientOptions } from "./connection.ts";
import { keptMessage } from "./record.ts";
import { DirectProducer, type OutgoingRecord } from "./direct-producer.ts";
import { isTransientKafkaError } from "./errors.ts";
import { withRetries } from "../retry.ts";

/** The internal topic of processor `name`. */
export function repartitionTopic(name: string): string {
  return `eddy-${name}-repartition`;
}

/** Header names of a repartitioned message. */
export const ORIGIN_PARTITION_HEADER = "eddy-source-partition";
export const ORIGIN_OFFSET_HEADER = "eddy-source-offset";
/** Marks a forwarded source message: its value, key and the headers after this one are the source's. */
export const SOURCE_MESSAGE_HEADER = "eddy-source-message";
export const PARTITION_HEADER_NAME = Buffer.from(ORIGIN_PARTITION_HEADER);
export const OFFSET_HEADER_NAME = Buffer.from(ORIGIN_OFFSET_HEADER);
export const SOURCE_MESSAGE_HEADER_NAME = Buffer.from(SOURCE_MESSAGE_HEADER);
const EMPTY = Buffer.alloc(0);

/** Where a repartitioned record was read: its source `topic:partition` and offset. */
export interface SourceOrigin {
  readonly partition: string;
  readonly offset: number;
}

/**
 * The repartition partition of `key` among `count`: Kafka's own partitioner (murmur2) over the key's group
 * key, so keys that `$group` puts together (1, 1.0 and Long(1); null and missing) land in one partition.
 */
export function partitionOfKey(key: unknown, count: number): number {
  return (murmur2(groupKeyOf(key ?? null)) >>> 0) % count;
}

/**
 * The repartition topic keeps its records without a time limit. Each record's Kafka timestamp is its event
 * time, and time retention (the broker's `log.retention.*`, 7 days by default) deletes records by that
 * timestamp: records of events older than the retention (a backlog, a replay, late data) would be deleted
 * by the broker's next retention check, read or not, and the partitions' fetch positions reset past them.
 */
const UNLIMITED_RETENTION = "-1";
const TOPIC_RESOURCE = 2;
const SET_CONFIG = 0;

/** The repartition topic's partition count and the source's partitions (`topic:partition`). */
export interface RepartitionLayout {
  readonly partitions: number;
  readonly sourcePartitions: readonly string[];
}

/**
 * Creates the repartition topic with the partition count of the first source topic when it is missing, and
 * makes it keep its records without a time limit (see {@link UNLIMITED_RETENTION}).
 * An existing topic with another count is refused: keys would land in other tasks than their windows' state.
 */
export async function ensureRepartitionTopic(
  client: KafkaClientOptions,
  sourceTopics: readonly string[],
  topic: string,
): Promise<RepartitionLayout> {
  const admin = new Admin(client);
  try {
    const source = await admin.metadata({ topics: [...sourceTopics] });
    const sourcePartitions = sourceTopics.flatMap((name) =>
      [...Array(source.topics.get(name)?.partitionsCount ?? 0).keys()].map((p) => `${name}:${p}`),
    );
    const sourceTopic = sourceTopics[0];
    const count = source.topics.get(sourceTopic)?.partitionsCount ?? 0;
    if (count < 1) throw new Error(`the source topic '${sourceTopic}' has no partitions`);
    const existing = await admin.metadata({ topics: [topic] }).catch(() => undefined);
    const have = existing?.topics.get(topic)?.partitionsCount;
    if (have === undefined) {
      const created = await admin
        .createTopics({
          topics: [topic],
          partitions: count,
          replicas: -1,
          configs: [{ name: "retention.ms", value: UNLIMITED_RETENTION }],
        })
        .then(
          () => true,
          (error: unknown) => {
            if (!/already exists/i.test(String((error as Error).message ?? error))) throw error;
            return false;
          },
        );
      // Another task created it meanwhile, or the broker's metadata did not list it yet (one an earlier Eddy
      // created with the broker's time retention): setting the retention again is harmless.
      if (!created) await keepForever(admin, topic);
    } else if (have !== count) {
      throw new Error(
        `the repartition topic '${topic}' has ${have} partitions but the source '${sourceTopic}' has ${count}; ` +
          "delete it (the processor's windows restart) or give the source the same count",
      );
    } else {
      // A topic an earlier Eddy created kept the broker's time retention.
      await keepForever(admin, topic);
    }
    return { partitions: count, sourcePartitions };
  } finally {
    await admin.close().catch(() => undefined);
  }
}

/** Sets the repartition topic's `retention.ms` to -1: its records carry event times, which time retention deletes unread. */
async function keepForever(admin: Admin, topic: string): Promise<void> {
  await admin
    .incrementalAlterConfigs({
      resources: [
        {
          resourceType: TOPIC_RESOURCE,
          resourceName: topic,
          configs: [{ name: "retention.ms", configOperation: SET_CONFIG, value: UNLIMITED_RETENTION }],
        },
      ],
    })
    .catch((error: unknown) => {
      throw new Error(
        `could not set retention.ms=-1 on the repartition topic '${topic}' (${String((error as Error).message ?? error)}); ` +
          "set it with kafka-configs: its records carry event times, which time retention deletes unread",
      );
    });
}

export interface RepartitionSinkOptions {
  readonly topic: string;
  readonly partitions: number;
  /** The window's group key (the `$group` `_id`, a session's `partitionBy`); undefined ⇒ one partition. */
  readonly key: Evaluator | undefined;
  /** The field holding the event time (`$source.tsFieldName`, default `_ts`). */
  readonly tsFieldName: string;
  /**
   * Records reach the sink unchanged (no stages before the window but `$match`) and their source kept their
   * messages (KafkaSource's `keepsMessages`): each is forwarded as its message (value, key, headers), which the
   * reading side decodes as the reader did, instead of being encoded as BSON and decoded again.
   */
  readonly forwardsSourceMessages?: boolean;
}

/**
 * Bytes of values one produce request carries at most: the broker's default `message.max.bytes` (1 MB)
 * bounds each partition's batch, and a request of this size cannot exceed it in any partition.
 */
const MAX_REQUEST_BYTES = 1_000_000;
/** Retries of one request whose failure is transient (a moved leader, a lost connection). */
const SEND_RETRIES = { attempts: 4, initialDelayMs: 250, maxDelayMs: 2_000 };
/**
 * Bytes of values waiting for the request in flight before `write` waits too: small enough that a flush
 * (each of the reader's checkpoints) waits for a request or two, not for seconds of backlog.
 */
const MAX_PENDING_BYTES = 2 * MAX_REQUEST_BYTES;

/**
 * Writes records to the repartition topic, keyed by their group key.
 *
 * `write` only queues: one produce request is in flight at a time and carries everything queued meanwhile
 * (up to MAX_REQUEST_BYTES), so the reader reads and encodes while the broker acknowledges, and requests grow
 * with the load instead of staying one read batch each. One request at a time keeps each source partition's
 * records in order in their repartition partition, which the reading side's duplicate check relies on;
 * after a failed request nothing more is sent. `flush` (before each of the reader's checkpoints, hence before
 * its source offsets are committed) waits until everything queued is acknowledged and throws a failure.
 */
export class RepartitionSink implements Sink {
  readonly operatorName = "RepartitionOperator";
  private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  private readonly direct: DirectProducer;
  private readonly options: RepartitionSinkOptions;
  private readonly origins = new Map<string, Buffer>();
  private lastOrigin: { topic: string; partition: number; bytes: Buffer } | undefined;
  private queue: OutgoingRecord[] = [];
  private queuedBytes = 0;
  private sending: Promise<void> | undefined;
  /** The request in flight; resolves (never rejects) when it is answered. */
  private inFlight: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;

  constructor(client: KafkaClientOptions, options: RepartitionSinkOptions) {
    this.options = options;
    this.producer = new Producer({ ...client, acks: -1, autocreateTopics: false });
    this.direct = new DirectProducer(this.producer, { acks: -1, autocreateTopics: false });
  }

  async write(docs: readonly Doc[]): Promise<SinkResult> {
    this.throwFailure();
    if (docs.length === 0) return { bytes: 0 };
    let bytes = 0;
    for (const doc of docs) {
      const message = this.messageOf(doc);
      bytes += message.value?.length ?? 0;
      this.queue.push(message);
    }
    this.queuedBytes += bytes;
    this.sending ??= this.send();
    while (this.queuedBytes > MAX_PENDING_BYTES && this.sending) await this.inFlight;
    this.throwFailure();
    return { bytes };
  }

  private messageOf(doc: Doc): OutgoingRecord {
    const { topic, partitions, key, tsFieldName, forwardsSourceMessages } = this.options;
    const time = doc[tsFieldName];
    const headers = new Map<Uint8Array, Uint8Array | undefined>();
    // The reading side expects these first, in this order.
    const source = (doc._stream_meta as Doc | undefined)?.source as Doc | undefined;
    if (source && typeof source.topic === "string" && typeof source.partition === "number") {
      headers.set(PARTITION_HEADER_NAME, this.originBytes(source.topic, source.partition));
      headers.set(OFFSET_HEADER_NAME, Buffer.from(String(source.offset)));
    }
    const partition = partitionOfKey(key ? safeKey(key, doc) : null, partitions);
    const timestamp = time instanceof Date ? time.getTime() : Date.now();
    const original = forwardsSourceMessages ? keptMessage(doc) : undefined;
    if (!original) return { topic, partition, value: encodeRepartitionValue(doc), headers, timestamp };
    headers.set(SOURCE_MESSAGE_HEADER_NAME, EMPTY);
    for (const [name, value] of original.headers ?? []) headers.set(Buffer.from(name), value ?? undefined);
    return {
      topic,
      partition,
      value: original.value ?? EMPTY,
      ...(original.key ? { key: original.key } : {}),
      headers,
      timestamp,
    };
  }

  /** Sends what is queued, one request at a time, until nothing is (or a request failed). */
  private async send(): Promise<void> {
    while (this.queue.length > 0 && !this.failure) {
      let bytes = 0;
      let count = 0;
      while (count < this.queue.length && (count === 0 || bytes < MAX_REQUEST_BYTES))
        bytes += this.queue[count++].value?.length ?? 0;
      const messages = count === this.queue.length ? this.queue : this.queue.slice(0, count);
      this.queue = count === this.queue.length ? [] : this.queue.slice(count);
      this.queuedBytes -= bytes;
      this.inFlight = this.produce(messages).then(
        () => undefined,
        (error: unknown) => {
          this.failure = { error };
        },
      );
      await this.inFlight;
    }
    this.sending = undefined;
  }

  /**
   * One request (Eddy's own encoding, as `$emit`'s: the client's costs more per record than the rest of the
   * reader), tried again a few times while the failure is transient: nothing else is in flight meanwhile.
   */
  private async produce(messages: readonly OutgoingRecord[]): Promise<void> {
    await withRetries(
      async () => {
        if (await this.direct.available()) await this.direct.send(messages);
        else await this.producer.send({ messages: messages.map(toClientMessage) });
      },
      isTransientKafkaError,
      SEND_RETRIES,
    );
  }

  private throwFailure(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Waits until every record written so far is acknowledged by the broker; throws when one was not. */
  async flush(): Promise<void> {
    while (this.sending) await this.sending;
    this.throwFailure();
  }

  /** The `topic:partition` header value, encoded once per source partition. */
  private originBytes(topic: string, partition: number): Buffer {
    const last = this.lastOrigin;
    if (last?.partition === partition && last.topic === topic) return last.bytes;
    const origin = `${topic}:${partition}`;
    let bytes = this.origins.get(origin);
    if (!bytes) this.origins.set(origin, (bytes = Buffer.from(origin)));
    this.lastOrigin = { topic, partition, bytes };
    return bytes;
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    await this.producer.close().catch(() => undefined);
  }
}

/** A record as `@platformatic/kafka`'s producer takes it (brokers older than Produce v9). */
function toClientMessage(record: OutgoingRecord): MessageToProduce<Buffer, Buffer, Buffer, Buffer> {
  return {
    topic: record.topic,
    ...(record.partition !== undefined ? { partition: record.partition } : {}),
    ...(record.key ? { key: Buffer.from(record.key) } : {}),
    ...(record.value ? { value: Buffer.from(record.value) } : {}),
    ...(record.headers
      ? {
          headers: new Map(
            [...record.headers].map(([k, v]) => [Buffer.from(k), v ? Buffer.from(v) : EMPTY] as const),
          ),
        }
      : {}),
    ...(record.timestamp !== undefined ? { timestamp: BigInt(record.timestamp) } : {}),
  };
}

/** A key that fails to evaluate goes with null's: the window's own `$group` then dead-letters the record. */
function safeKey(key: Evaluator, doc: Doc): unknown {
  try {
    return key(doc, {});
  } catch {
    return null;
  }
}

/**
 * A repartitioned record's value: BSON of the checkpoint state codec's form, lossless for every value a
 * document can hold (ints stay ints, dates stay dates) and about 3× cheaper both ways than canonical
 * Extended JSON text, which the repartition step pays once more per record.
 */
export function encodeRepartitionValue(doc: Doc): Buffer {
  const bytes = serialize(encodeState(doc));
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The inverse of {@link encodeRepartitionValue}. */
export function decodeRepartitionValue(value: Buffer): Doc {
  return decodeState(deserialize(value)) as Doc;
}

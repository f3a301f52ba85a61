/**
 * The repartition step of a scaled-out processor (docs/scale-out.md): records are re-keyed by their window's
 * group key and written to the internal topic `eddy-<processor>-repartition`, which has the source's
 * partition count, so every key's windows live in exactly one repartition partition and hence in one task.
 *
 * Each message carries its event time as the Kafka timestamp and, in headers, the source partition and
 * offset it came from. A task replaying its source after a rebalance or a crash writes some records again;
 * the reading side drops them because, per source partition, offsets only grow ({@link SourceOrigin}).
 */
import { Admin, murmur2, Producer } from "@platformatic/kafka";
import { deserialize, serialize } from "bson";
import { groupKeyOf } from "../../mql/group-key.ts";
import type { Doc, Evaluator } from "../../mql/index.ts";
import type { Sink, SinkResult } from "../../runtime/sink.ts";
import { decodeState, encodeState } from "../../runtime/state-codec.ts";
import type { KafkaClientOptions } from "./connection.ts";

/** The internal topic of processor `name`. */
export function repartitionTopic(name: string): string {
  return `eddy-${name}-repartition`;
}

/** Header names of a repartitioned message. */
export const ORIGIN_PARTITION_HEADER = "eddy-source-partition";
export const ORIGIN_OFFSET_HEADER = "eddy-source-offset";
const PARTITION_HEADER_NAME = Buffer.from(ORIGIN_PARTITION_HEADER);
const OFFSET_HEADER_NAME = Buffer.from(ORIGIN_OFFSET_HEADER);

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
      await admin
        .createTopics({
          topics: [topic],
          partitions: count,
          replicas: -1,
          configs: [{ name: "retention.ms", value: UNLIMITED_RETENTION }],
        })
        .catch((error: unknown) => {
          // Another task created it meanwhile.
          if (!/already exists/i.test(String((error as Error).message ?? error))) throw error;
        });
    } else if (have !== count) {
      throw new Error(
        `the repartition topic '${topic}' has ${have} partitions but the source '${sourceTopic}' has ${count}; ` +
          "delete it (the processor's windows restart) or give the source the same count",
      );
    } else {
      // A topic an earlier Eddy created kept the broker's time retention.
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
    return { partitions: count, sourcePartitions };
  } finally {
    await admin.close().catch(() => undefined);
  }
}

export interface RepartitionSinkOptions {
  readonly topic: string;
  readonly partitions: number;
  /** The window's group key (the `$group` `_id`, a session's `partitionBy`); undefined ⇒ one partition. */
  readonly key: Evaluator | undefined;
  /** The field holding the event time (`$source.tsFieldName`, default `_ts`). */
  readonly tsFieldName: string;
}

/** Writes records to the repartition topic, keyed by their group key. */
export class RepartitionSink implements Sink {
  readonly operatorName = "RepartitionOperator";
  private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  private readonly options: RepartitionSinkOptions;
  private readonly origins = new Map<string, Buffer>();

  constructor(client: KafkaClientOptions, options: RepartitionSinkOptions) {
    this.options = options;
    this.producer = new Producer({ ...client, acks: -1, autocreateTopics: false });
  }

  async write(docs: readonly Doc[]): Promise<SinkResult> {
    if (docs.length === 0) return { bytes: 0 };
    const { topic, partitions, key, tsFieldName } = this.options;
    let bytes = 0;
    const messages = docs.map((doc) => {
      const group = key ? safeKey(key, doc) : null;
      const value = encodeRepartitionValue(doc);
      bytes += value.length;
      const time = doc[tsFieldName];
      const source = (doc._stream_meta as Doc | undefined)?.source as Doc | undefined;
      const headers = new Map<Buffer, Buffer>();
      if (source && typeof source.topic === "string" && typeof source.partition === "number") {
        headers.set(PARTITION_HEADER_NAME, this.originBytes(source.topic, source.partition));
        headers.set(OFFSET_HEADER_NAME, Buffer.from(String(source.offset)));
      }
      return {
        topic,
        partition: partitionOfKey(group, partitions),
        value,
        headers,
        timestamp: BigInt(time instanceof Date ? time.getTime() : Date.now()),
      };
    });
    await this.producer.send({ messages });
    return { bytes };
  }

  /** The `topic:partition` header value, encoded once per source partition. */
  private originBytes(topic: string, partition: number): Buffer {
    const origin = `${topic}:${partition}`;
    let bytes = this.origins.get(origin);
    if (!bytes) this.origins.set(origin, (bytes = Buffer.from(origin)));
    return bytes;
  }

  async close(): Promise<void> {
    await this.producer.close().catch(() => undefined);
  }
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

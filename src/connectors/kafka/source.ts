/**
 * `$source` on Kafka topics (asp-compat §1.2). Each partition is its own watermark partition
 * (`topic:partition`). Values are parsed as (Extended) JSON; a value that is not, or a key that does not
 * decode under `keyFormat` with `keyFormatError: "dlq"`, becomes a DLQ record carrying the raw bytes
 * (base64), topic, partition and offset. Start position: explicit offsets (a checkpoint), else the
 * consumer group's committed offsets, else `auto_offset_reset`.
 */
import { Consumer, type Message, type MessagesStream } from "@platformatic/kafka";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import type { Doc } from "../../mql/index.ts";
import type { SourcePlan } from "../../pipeline/plan.ts";
import type { Source, SourceBatch, SourceRecord } from "../../runtime/source.ts";
import { parseExtendedJson } from "../../codec/ejson.ts";
import { decodeHeaders, decodeKey, type KeyFormat } from "./codec.ts";
import type { KafkaClientOptions } from "./connection.ts";

export type KafkaSourcePlan = Extract<SourcePlan, { kind: "kafka" }>;

type KafkaMessage = Message<Buffer, Buffer, Buffer, Buffer>;

export interface KafkaSourceOptions {
  /** Next offset to read per `topic:partition` (from a checkpoint). */
  readonly startOffsets?: Readonly<Record<string, string | number | bigint>>;
  /** Group for ephemeral processors that set none (they get a fresh one, so nothing is shared). */
  readonly fallbackGroupId?: string;
  readonly maxBatchSize?: number;
  /** How long `next()` waits for a first message before reporting the source idle (default 500 ms). */
  readonly idleWaitMs?: number;
}

const EARLIEST = new Set(["earliest", "beginning", "smallest"]);

export class KafkaSource implements Source {
  readonly type = "kafka";
  readonly operatorName = "KafkaConsumerOperator";
  private readonly client: KafkaClientOptions;
  private readonly plan: KafkaSourcePlan;
  private readonly options: KafkaSourceOptions;
  private readonly keyFormat: KeyFormat;
  private readonly passThroughBadKeys: boolean;
  private consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  /** Next offset per `topic:partition` after what was handed over. */
  private readonly nextOffsets = new Map<string, bigint>();

  constructor(client: KafkaClientOptions, plan: KafkaSourcePlan, options: KafkaSourceOptions = {}) {
    this.client = client;
    this.plan = plan;
    this.options = options;
    this.keyFormat = (plan.config.keyFormat as KeyFormat | undefined) ?? "binData";
    this.passThroughBadKeys = plan.config.keyFormatError === "passThrough";
  }

  async start(): Promise<void> {
    const groupId = (this.plan.config.group_id as string | undefined) ?? this.options.fallbackGroupId;
    if (!groupId) throw new Error("a Kafka source needs config.group_id (or a fallback group)");
    this.consumer = new Consumer({ ...this.client, groupId, autocommit: false });
    const earliest = EARLIEST.has(String(this.plan.config.auto_offset_reset ?? "latest"));
    const startOffsets = Object.entries(this.options.startOffsets ?? {});
    this.stream = await this.consumer.consume({
      topics: [...this.plan.topics],
      autocommit: false,
      maxWaitTime: 500,
      ...(startOffsets.length > 0
        ? {
            mode: "manual" as const,
            offsets: startOffsets.map(([key, offset]) => {
              const [topic, partition] = splitPartitionKey(key);
              return { topic, partition, offset: BigInt(offset) };
            }),
          }
        : {
            mode: "committed" as const,
            fallbackMode: earliest ? ("earliest" as const) : ("latest" as const),
          }),
    });
  }

  async next(): Promise<SourceBatch | undefined> {
    const stream = this.stream;
    if (!stream) throw new Error("KafkaSource.next() before start()");
    const max = this.options.maxBatchSize ?? 1000;
    const records: SourceRecord[] = [];
    this.drain(stream, records, max);
    if (records.length === 0) {
      const ac = new AbortController();
      await Promise.race([
        once(stream, "readable", { signal: ac.signal }).catch(() => undefined),
        sleep(this.options.idleWaitMs ?? 500, undefined, { signal: ac.signal }).catch(() => undefined),
      ]);
      ac.abort();
      this.drain(stream, records, max);
    }
    return records.length > 0 ? { records } : { records: [], idle: true };
  }

  /** Next offset to read per `topic:partition`: what a checkpoint stores. */
  positions(): Doc {
    const offsets: Doc = {};
    for (const [key, offset] of this.nextOffsets) offsets[key] = offset.toString();
    return { offsets };
  }

  /** Commits the positions handed over so far to the consumer group (for lag monitoring), then closes. */
  async close(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) return;
    if (this.nextOffsets.size > 0 && this.plan.config.enable_auto_commit !== false) {
      await consumer
        .commit({
          offsets: [...this.nextOffsets].map(([key, offset]) => {
            const [topic, partition] = splitPartitionKey(key);
            return { topic, partition, offset, leaderEpoch: -1 };
          }),
        })
        .catch(() => undefined);
    }
    await this.stream?.close().catch(() => undefined);
    await consumer.close(true).catch(() => undefined);
  }

  private drain(
    stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>,
    records: SourceRecord[],
    max: number,
  ): void {
    while (records.length < max) {
      const message = stream.read() as KafkaMessage | null;
      if (message === null) return;
      records.push(this.toRecord(message));
    }
  }

  private toRecord(message: KafkaMessage): SourceRecord {
    const partitionKey = `${message.topic}:${message.partition}`;
    this.nextOffsets.set(partitionKey, message.offset + 1n);
    const meta: Doc = { topic: message.topic, partition: message.partition, offset: Number(message.offset) };
    const headers = decodeHeaders(message.headerEntries.map(([k, v]) => [k.toString(), v] as const));
    if (headers.length > 0) meta.headers = headers;
    const value = message.value ?? Buffer.alloc(0);
    const base = { partition: partitionKey, timestamp: Number(message.timestamp), size: value.length, meta };
    try {
      const key = decodeKey(message.key, this.keyFormat);
      if (key !== undefined) meta.key = key;
    } catch (error) {
      if (!this.passThroughBadKeys) return { ...base, doc: undefined, error: rawError(error, value) };
    }
    try {
      const doc = parseExtendedJson(value.toString("utf8"));
      if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
        return { ...base, doc: undefined, error: rawError(new Error("value is not a JSON object"), value) };
      }
      return { ...base, doc: doc as Doc };
    } catch (error) {
      return { ...base, doc: undefined, error: rawError(error, value) };
    }
  }
}

function rawError(error: unknown, value: Buffer): { message: string; raw: unknown } {
  return { message: (error as Error).message, raw: { base64: value.toString("base64") } };
}

function splitPartitionKey(key: string): [string, number] {
  const at = key.lastIndexOf(":");
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

/**
 * A Kafka message as a runtime SourceRecord: the value parsed as (Extended) JSON, the key decoded under
 * `keyFormat`, headers and `_stream_meta.source` fields. A value that is not a JSON object, or a key that
 * does not decode with `keyFormatError: "dlq"`, gives a record with `error` carrying the raw bytes (base64).
 * Shared by the `$source` reader and the per-partition feeds of a scaled-out processor.
 */
import type { Message } from "@platformatic/kafka";
import { parseExtendedJson } from "../../codec/ejson.ts";
import type { Doc } from "../../mql/index.ts";
import type { SourceRecord } from "../../runtime/source.ts";
import { decodeHeaders, decodeKey, type KeyFormat } from "./codec.ts";
import type { KafkaSourceOptions } from "./spec.ts";

export type KafkaMessage = Message<Buffer, Buffer, Buffer, Buffer>;

export class KafkaRecordDecoder {
  private readonly keyFormat: KeyFormat;
  private readonly passThroughBadKeys: boolean;
  private lastPartition: { topic: string; partition: number; key: string } | undefined;

  constructor(options: KafkaSourceOptions) {
    this.keyFormat = options.config.keyFormat;
    this.passThroughBadKeys = options.config.keyFormatError === "passThrough";
  }

  toRecord(message: KafkaMessage): SourceRecord {
    const meta: Doc = {
      type: "kafka",
      topic: message.topic,
      partition: message.partition,
      offset: Number(message.offset),
    };
    if (message.headerEntries.length > 0)
      meta.headers = decodeHeaders(message.headerEntries.map(([k, v]) => [k.toString(), v] as const));
    const value = message.value ?? Buffer.alloc(0);
    let error: { message: string; raw: unknown } | undefined;
    let doc: Doc | undefined;
    try {
      const key = decodeKey(message.key, this.keyFormat);
      if (key !== undefined) meta.key = key;
    } catch (thrown) {
      if (!this.passThroughBadKeys) error = rawError(thrown, value);
    }
    if (error === undefined) {
      try {
        const parsed = parseExtendedJson(value.toString("utf8"));
        if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) doc = parsed as Doc;
        else error = rawError(new Error("value is not a JSON object"), value);
      } catch (thrown) {
        error = rawError(thrown, value);
      }
    }
    return {
      doc,
      partition: this.partitionKey(message.topic, message.partition),
      timestamp: Number(message.timestamp),
      size: value.length,
      meta,
      error,
    };
  }

  /** `topic:partition`, the same string for consecutive messages of one partition. */
  private partitionKey(topic: string, partition: number): string {
    const last = this.lastPartition;
    if (last !== undefined && last.partition === partition && last.topic === topic) return last.key;
    const key = `${topic}:${partition}`;
    this.lastPartition = { topic, partition, key };
    return key;
  }
}

function rawError(error: unknown, value: Buffer): { message: string; raw: unknown } {
  return { message: (error as Error).message, raw: { base64: value.toString("base64") } };
}

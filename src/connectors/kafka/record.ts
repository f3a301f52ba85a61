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

/** Where a record was read: its topic, partition and their `topic:partition` key (the watermark's). */
export interface MessageOrigin {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
}

const SOURCE_MESSAGE = Symbol("eddy.kafka.sourceMessage");

/**
 * Keeps on `doc` the message it was decoded from, under a symbol: no stage, codec or sink sees it (the
 * repartition step forwards an unchanged record as its message, docs/scale-out.md). A symbol rather than a
 * WeakMap: thousands of short-lived weak entries cost the garbage collector microseconds per record.
 */
export function keepMessage(doc: Doc, message: KafkaMessage): void {
  (doc as Record<symbol, unknown>)[SOURCE_MESSAGE] = message;
}

/** The message `doc` was decoded from, when its source kept it ({@link keepMessage}). */
export function keptMessage(doc: Doc): KafkaMessage | undefined {
  return (doc as Record<symbol, unknown>)[SOURCE_MESSAGE] as KafkaMessage | undefined;
}

export class KafkaRecordDecoder {
  private readonly keyFormat: KeyFormat;
  private readonly passThroughBadKeys: boolean;
  private lastOrigin: MessageOrigin | undefined;

  constructor(options: KafkaSourceOptions) {
    this.keyFormat = options.config.keyFormat;
    this.passThroughBadKeys = options.config.keyFormatError === "passThrough";
  }

  toRecord(message: KafkaMessage): SourceRecord {
    const origin = this.originOf(message.topic, message.partition);
    return this.decode(message, origin, Number(message.offset), message.headerEntries);
  }

  /**
   * The record of a message as if it had been read at `origin`/`offset` with `headers`: a source message the
   * repartition step forwarded unchanged (docs/scale-out.md) decodes exactly as its reader decoded it.
   */
  decode(
    message: KafkaMessage,
    origin: MessageOrigin,
    offset: number,
    headers: ReadonlyArray<readonly [Buffer, Buffer]>,
  ): SourceRecord {
    const meta: Doc = { type: "kafka", topic: origin.topic, partition: origin.partition, offset };
    if (headers.length > 0) meta.headers = decodeHeaders(headers.map(([k, v]) => [k.toString(), v] as const));
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
      partition: origin.key,
      timestamp: Number(message.timestamp),
      size: value.length,
      meta,
      error,
    };
  }

  /** The origin of a message of `topic`/`partition`: the same object for consecutive messages of one partition. */
  private originOf(topic: string, partition: number): MessageOrigin {
    const last = this.lastOrigin;
    if (last !== undefined && last.partition === partition && last.topic === topic) return last;
    return (this.lastOrigin = { topic, partition, key: `${topic}:${partition}` });
  }
}

function rawError(error: unknown, value: Buffer): { message: string; raw: unknown } {
  return { message: (error as Error).message, raw: { base64: value.toString("base64") } };
}

/**
 * A Kafka message as a runtime SourceRecord: the value parsed as (Extended) JSON, the key decoded under
 * `keyFormat`, headers and `_stream_meta.source` fields. A value that is not a JSON object, or a key that
 * does not decode with `keyFormatError: "dlq"`, gives a record with `error` carrying the raw bytes (base64).
 * Shared by the `$source` reader and the per-partition feeds of a scaled-out processor (records their
 * fetchers decoded).
 */
import { parseExtendedJson } from "../../codec/ejson.ts";
import type { Doc } from "../../mql/index.ts";
import type { SourceRecord } from "../../runtime/source.ts";
import { decodeHeaders, decodeKey, type KeyFormat } from "./codec.ts";
import type { FetchedHeader } from "./record-batch.ts";
import type { KafkaSourceOptions } from "./spec.ts";

const EMPTY = Buffer.alloc(0);

/** A record's message as its source read it: what the repartition step forwards unchanged. */
export interface SourceMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly FetchedHeader[] | undefined;
}

const SOURCE_MESSAGE = Symbol("eddy.kafka.sourceMessage");

/**
 * Keeps on `doc` the message it was decoded from, under a symbol: no stage, codec or sink sees it (the
 * repartition step forwards an unchanged record as its message, docs/scale-out.md). A symbol rather than a
 * WeakMap: thousands of short-lived weak entries cost the garbage collector microseconds per record.
 */
export function keepMessage(doc: Doc, message: SourceMessage): void {
  (doc as Record<symbol, unknown>)[SOURCE_MESSAGE] = message;
}

/** The message `doc` was decoded from, when its source kept it ({@link keepMessage}). */
export function keptMessage(doc: Doc): SourceMessage | undefined {
  return (doc as Record<symbol, unknown>)[SOURCE_MESSAGE] as SourceMessage | undefined;
}

export class KafkaRecordDecoder {
  private readonly keyFormat: KeyFormat;
  private readonly passThroughBadKeys: boolean;
  private lastPartition: { topic: string; partition: number; key: string } | undefined;

  constructor(options: KafkaSourceOptions) {
    this.keyFormat = options.config.keyFormat;
    this.passThroughBadKeys = options.config.keyFormatError === "passThrough";
  }

  /** One record as the fetch path (record-batch.ts) reads it. */
  decode(
    topic: string,
    partition: number,
    offset: number,
    timestamp: number,
    key: Buffer | null,
    value: Buffer | null,
    headers: readonly FetchedHeader[] | undefined,
  ): SourceRecord {
    const meta: Doc = { type: "kafka", topic, partition, offset };
    if (headers !== undefined) meta.headers = decodeHeaders(headers);
    const bytes = value ?? EMPTY;
    let error: { message: string; raw: unknown } | undefined;
    let doc: Doc | undefined;
    try {
      const decodedKey = decodeKey(key, this.keyFormat);
      if (decodedKey !== undefined) meta.key = decodedKey;
    } catch (thrown) {
      if (!this.passThroughBadKeys) error = rawError(thrown, bytes);
    }
    if (error === undefined) {
      try {
        const parsed = parseExtendedJson(bytes.toString("utf8"));
        if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) doc = parsed as Doc;
        else error = rawError(new Error("value is not a JSON object"), bytes);
      } catch (thrown) {
        error = rawError(thrown, bytes);
      }
    }
    return {
      doc,
      partition: this.partitionKey(topic, partition),
      timestamp,
      size: bytes.length,
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

/** The topic and partition of a `topic:partition` key (the one {@link KafkaRecordDecoder} builds). */
export function splitPartitionKey(key: string): [topic: string, partition: number] {
  const at = key.lastIndexOf(":");
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

function rawError(error: unknown, value: Buffer): { message: string; raw: unknown } {
  return { message: (error as Error).message, raw: { base64: value.toString("base64") } };
}

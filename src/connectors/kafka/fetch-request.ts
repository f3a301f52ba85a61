/**
 * Kafka Fetch request and response, version 11 (Kafka 2.3 and later; topics by name, not flexible), the
 * consumer-side counterpart of produce-request.ts: Eddy encodes the request and reads the response itself,
 * handing each partition's record batches to record-batch.ts, and the client's connection frames and
 * sends them (fetcher.ts).
 *
 * Request: replica_id INT32, max_wait_ms INT32, min_bytes INT32, max_bytes INT32, isolation_level INT8,
 * session_id INT32, session_epoch INT32, [topic STRING, [partition INT32, current_leader_epoch INT32,
 * fetch_offset INT64, log_start_offset INT64, partition_max_bytes INT32]], [forgotten topics], rack_id STRING.
 * Session 0 with epoch -1 is a full fetch that opens no fetch session.
 *
 * Response: throttle_time_ms INT32, error_code INT16, session_id INT32, [topic STRING, [partition_index
 * INT32, error_code INT16, high_watermark INT64, last_stable_offset INT64, log_start_offset INT64,
 * aborted_transactions NULLABLE [producer_id INT64, first_offset INT64], preferred_read_replica INT32,
 * records NULLABLE BYTES]].
 */
import { ByteBuffer } from "../../codec/byte-buffer.ts";
import { decodeRecordBatches, type AbortedTransaction, type FetchedRecordVisitor } from "./record-batch.ts";

export const FETCH_API_KEY = 1;
export const FETCH_VERSION = 11;
export const READ_UNCOMMITTED = 0;
export const READ_COMMITTED = 1;

export interface FetchPartition {
  readonly partition: number;
  readonly fetchOffset: bigint;
  readonly maxBytes: number;
}

export interface FetchRequest {
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly isolationLevel: typeof READ_UNCOMMITTED | typeof READ_COMMITTED;
  readonly topics: ReadonlyArray<{ readonly topic: string; readonly partitions: readonly FetchPartition[] }>;
}

export function encodeFetchRequest(request: FetchRequest): Buffer {
  const out = new ByteBuffer(256);
  out.int32(-1); // replica_id: a consumer
  out.int32(request.maxWaitMs);
  out.int32(request.minBytes);
  out.int32(request.maxBytes);
  out.int8(request.isolationLevel);
  out.int32(0); // session_id
  out.int32(-1); // session_epoch: a full fetch, no session
  out.int32(request.topics.length);
  for (const { topic, partitions } of request.topics) {
    string(out, topic);
    out.int32(partitions.length);
    for (const { partition, fetchOffset, maxBytes } of partitions) {
      out.int32(partition);
      out.int32(-1); // current_leader_epoch: unknown
      out.int64(fetchOffset);
      out.int64(-1n); // log_start_offset: consumers send -1
      out.int32(maxBytes);
    }
  }
  out.int32(0); // forgotten_topics_data
  string(out, "");
  return out.view();
}

function string(out: ByteBuffer, text: string): void {
  const bytes = Buffer.from(text, "utf8");
  out.int16(bytes.length);
  out.append(bytes);
}

/** What a fetch response said about one partition. */
export interface FetchedPartition {
  readonly topic: string;
  readonly partition: number;
  /** 0, or the Kafka error code of this partition (its records are then absent). */
  readonly errorCode: number;
  readonly highWatermark: bigint;
  /** Where the next fetch of this partition starts: after its last complete batch, else unchanged (-1). */
  readonly nextOffset: number;
}

export interface FetchResponse {
  readonly errorCode: number;
  readonly partitions: FetchedPartition[];
}

/** Where the records of each partition go, and from which offset they are wanted. */
export interface FetchDestination {
  fetchOffset(topic: string, partition: number): number;
  visitor(topic: string, partition: number): FetchedRecordVisitor;
}

/**
 * Reads a Fetch v11 response body (after the response header), decoding every partition's record batches
 * into `destination` as it goes. `isolationLevel` decides whether aborted transactions are skipped.
 */
export function decodeFetchResponse(
  body: Buffer,
  destination: FetchDestination,
  isolationLevel: number,
): FetchResponse {
  let p = 4; // throttle_time_ms
  const errorCode = body.readInt16BE(p);
  p += 2 + 4; // session_id
  const partitions: FetchedPartition[] = [];
  const topicCount = body.readInt32BE(p);
  p += 4;
  for (let t = 0; t < topicCount; t++) {
    const nameLength = body.readInt16BE(p);
    const topic = body.toString("utf8", p + 2, p + 2 + nameLength);
    p += 2 + nameLength;
    const partitionCount = body.readInt32BE(p);
    p += 4;
    for (let i = 0; i < partitionCount; i++) {
      const partition = body.readInt32BE(p);
      const partitionError = body.readInt16BE(p + 4);
      const highWatermark = body.readBigInt64BE(p + 6);
      p += 4 + 2 + 8 + 8 + 8;
      const abortedCount = body.readInt32BE(p);
      p += 4;
      let aborted: AbortedTransaction[] | null = null;
      if (abortedCount > 0) {
        aborted = [];
        for (let a = 0; a < abortedCount; a++, p += 16)
          aborted.push({ producerId: body.readBigInt64BE(p), firstOffset: body.readBigInt64BE(p + 8) });
      }
      p += 4; // preferred_read_replica
      const size = body.readInt32BE(p);
      p += 4;
      let nextOffset = -1;
      if (size > 0 && partitionError === 0) {
        nextOffset = decodeRecordBatches(
          body,
          p,
          p + size,
          {
            label: `${topic}:${partition}`,
            fetchOffset: destination.fetchOffset(topic, partition),
            aborted: isolationLevel === READ_COMMITTED ? aborted : null,
          },
          destination.visitor(topic, partition),
        );
      }
      if (size > 0) p += size;
      partitions.push({ topic, partition, errorCode: partitionError, highWatermark, nextOffset });
    }
  }
  return { errorCode, partitions };
}

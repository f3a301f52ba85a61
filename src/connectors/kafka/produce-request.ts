/**
 * Kafka Produce request (version 9) with RecordBatch v2 bodies, encoded in one pass into one buffer.
 * `@platformatic/kafka` builds each record from half a dozen small buffers and concatenates them twice;
 * on `$emit`'s path that cost more than everything Eddy does to an event, so the sink encodes its
 * requests itself and lets the client's connection frame and send them (direct-producer.ts).
 *
 * Produce v9 (flexible): transactional_id COMPACT_NULLABLE_STRING, acks INT16, timeout_ms INT32,
 * [topic: name COMPACT_STRING, [partition: index INT32, records COMPACT_RECORDS, TAG_BUFFER], TAG_BUFFER],
 * TAG_BUFFER. Records are written as the Java producer writes them without idempotence: producer id,
 * epoch and base sequence -1, CreateTime timestamps, no compression.
 */
import { crc32c } from "@node-rs/crc32";
import { ByteBuffer, varintSize, varlongSize } from "../../codec/byte-buffer.ts";

export const PRODUCE_API_KEY = 0;
export const PRODUCE_VERSION = 9;

export interface ProduceRecord {
  readonly key?: Uint8Array;
  /** Absent for a tombstone (null value). */
  readonly value?: Uint8Array;
  readonly headers?: ReadonlyMap<Uint8Array, Uint8Array | undefined>;
  /** Its CreateTime in milliseconds since the epoch; default: the request's `timestamp`. */
  readonly timestamp?: number;
}

export interface PartitionRecords {
  readonly partition: number;
  readonly records: readonly ProduceRecord[];
}

export interface TopicRecords {
  readonly topic: string;
  readonly partitions: readonly PartitionRecords[];
}

export interface ProduceRequest {
  readonly acks: number;
  readonly timeoutMs: number;
  /** Milliseconds since the epoch: the CreateTime of every record without its own. */
  readonly timestamp: number;
  readonly topics: readonly TopicRecords[];
}

/** Bytes of the fixed RecordBatch header (baseOffset … record count). */
const BATCH_HEADER_SIZE = 61;
const MAGIC = 2;

/** Encodes `request`'s body (everything after the request header) into a fresh buffer. */
export function encodeProduceRequest(request: ProduceRequest, sizeHint = 64 * 1024): Buffer {
  const out = new ByteBuffer(sizeHint);
  out.uvarint(0); // transactional_id: null
  out.int16(request.acks);
  out.int32(request.timeoutMs);
  out.uvarint(request.topics.length + 1);
  for (const { topic, partitions } of request.topics) {
    const name = Buffer.from(topic, "utf8");
    out.uvarint(name.length + 1);
    out.append(name);
    out.uvarint(partitions.length + 1);
    for (const { partition, records } of partitions) {
      out.int32(partition);
      writeRecordBatch(out, records, request.timestamp);
      out.uvarint(0);
    }
    out.uvarint(0);
  }
  out.uvarint(0);
  return out.view();
}

/** COMPACT_RECORDS: the batch's length + 1, then the batch. */
function writeRecordBatch(out: ByteBuffer, records: readonly ProduceRecord[], timestamp: number): void {
  const bodySizes = new Array<number>(records.length);
  const base = records[0]?.timestamp ?? timestamp;
  let max = base;
  let recordsSize = 0;
  for (let i = 0; i < records.length; i++) {
    const time = records[i].timestamp ?? timestamp;
    if (time > max) max = time;
    const size = recordBodySize(records[i], i, time - base);
    bodySizes[i] = size;
    recordsSize += varintSize(size) + size;
  }
  const batchSize = BATCH_HEADER_SIZE + recordsSize;
  out.uvarint(batchSize + 1);
  out.ensure(batchSize);
  const start = out.position;
  out.int64(0n); // baseOffset: the broker assigns offsets
  out.int32(batchSize - 12); // batchLength: from partitionLeaderEpoch to the end
  out.int32(-1); // partitionLeaderEpoch
  out.int8(MAGIC);
  const crcAt = out.position;
  out.int32(0);
  const crcFrom = out.position;
  out.int16(0); // attributes: no compression, CreateTime, not transactional
  out.int32(records.length - 1); // lastOffsetDelta
  out.int64(BigInt(base)); // baseTimestamp
  out.int64(BigInt(max)); // maxTimestamp
  out.int64(-1n); // producerId
  out.int16(-1); // producerEpoch
  out.int32(-1); // baseSequence
  out.int32(records.length);
  for (let i = 0; i < records.length; i++)
    writeRecord(out, records[i], i, (records[i].timestamp ?? timestamp) - base, bodySizes[i]);
  if (out.position - start !== batchSize) {
    throw new Error(`record batch encoding wrote ${out.position - start} bytes, expected ${batchSize}`);
  }
  out.uint32At(crcAt, crc32c(out.view(crcFrom, out.position)));
}

/** An upper bound of the bytes `record` takes in a batch (its body, length prefix and offset delta included). */
export function recordSize(record: ProduceRecord): number {
  return recordBodySize(record, 0x7fffffff, record.timestamp === undefined ? 0 : Number.MAX_SAFE_INTEGER) + 5;
}

function recordBodySize(record: ProduceRecord, offsetDelta: number, timestampDelta: number): number {
  const { key, value, headers } = record;
  let size = 1 + varlongSize(timestampDelta) + varintSize(offsetDelta); // attributes, timestampDelta, offsetDelta
  size += key ? varintSize(key.length) + key.length : 1;
  size += value ? varintSize(value.length) + value.length : 1;
  size += varintSize(headers?.size ?? 0);
  if (headers) {
    for (const [name, headerValue] of headers) {
      size += varintSize(name.length) + name.length;
      size += headerValue ? varintSize(headerValue.length) + headerValue.length : 1;
    }
  }
  return size;
}

function writeRecord(
  out: ByteBuffer,
  record: ProduceRecord,
  offsetDelta: number,
  timestampDelta: number,
  bodySize: number,
): void {
  const { key, value, headers } = record;
  out.varint(bodySize);
  out.ensure(1);
  out.byte(0); // attributes
  out.varlong(timestampDelta);
  out.varint(offsetDelta);
  writeBytes(out, key);
  writeBytes(out, value);
  out.varint(headers?.size ?? 0);
  if (headers) {
    for (const [name, headerValue] of headers) {
      writeBytes(out, name);
      writeBytes(out, headerValue);
    }
  }
}

/** A VARINT length (-1 for null) and the bytes. */
function writeBytes(out: ByteBuffer, bytes: Uint8Array | undefined): void {
  if (!bytes) {
    out.varint(-1);
    return;
  }
  out.varint(bytes.length);
  out.append(bytes);
}

/**
 * Record batches (magic 2) as a Fetch response carries them, decoded straight into what the Kafka source
 * needs: each data record's offset, timestamp, key, value and headers, handed to a visitor as views into
 * the response (no message object, header map or metadata per record, as `@platformatic/kafka` builds).
 *
 * As the Java consumer does: each batch's CRC-32C is checked (a mismatch is a non-retryable error naming
 * the partition and offset); a batch cut short by the fetch size is left for the next fetch; records
 * before the requested offset (inside a batch that starts earlier) are skipped; control batches are
 * skipped; with read_committed, transactional batches of aborted transactions (the response's
 * `aborted_transactions`, up to each ABORT marker) are skipped; with LogAppendTime every record's
 * timestamp is the batch's max timestamp. Compressed batches are inflated with the client's codecs
 * (gzip, snappy, lz4, zstd).
 *
 * Layout (v2): baseOffset INT64, batchLength INT32, partitionLeaderEpoch INT32, magic INT8, crc UINT32,
 * attributes INT16, lastOffsetDelta INT32, baseTimestamp INT64, maxTimestamp INT64, producerId INT64,
 * producerEpoch INT16, baseSequence INT32, recordCount INT32, records. A record: length VARINT,
 * attributes INT8, timestampDelta VARLONG, offsetDelta VARINT, key VARINT-length bytes (-1: null),
 * value likewise, headers VARINT count of (name VARINT-length UTF-8, value VARINT-length bytes).
 */
import { crc32c } from "@node-rs/crc32";
import { compressionsAlgorithmsByBitmask } from "@platformatic/kafka";
import { ConnectorError } from "../../runtime/errors.ts";

/** A record header as the source reads it: the name decoded, the value as bytes (null when absent). */
export type FetchedHeader = [name: string, value: Buffer | null];

/** Receives a partition's data records in offset order. Buffers are views into the fetched bytes. */
export interface FetchedRecordVisitor {
  record(
    offset: number,
    timestamp: number,
    key: Buffer | null,
    value: Buffer | null,
    headers: FetchedHeader[] | undefined,
  ): void;
}

export interface AbortedTransaction {
  readonly producerId: bigint;
  readonly firstOffset: bigint;
}

/** A record batch whose CRC does not match, or that cannot be read: the log (or the wire) is damaged. */
export class CorruptRecordBatchError extends ConnectorError {
  override readonly name = "CorruptRecordBatchError";
  constructor(message: string) {
    super(message, { retryable: false });
  }
}

/** Bytes before a batch's records: baseOffset through recordCount. */
const BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: what precedes the length-counted part of a batch. */
const LOG_OVERHEAD = 12;
/** Where the CRC-covered part of a batch starts (attributes). */
const CRC_START = 21;
const COMPRESSION_MASK = 0x07;
const LOG_APPEND_TIME = 0x08;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
const TWO_32 = 4294967296;

export interface PartitionRecords {
  /** Topic and partition, for error messages. */
  readonly label: string;
  /** The offset the fetch asked for: records before it are skipped. */
  readonly fetchOffset: number;
  /** Read_committed's aborted transactions for this partition (null: none, or read_uncommitted). */
  readonly aborted: readonly AbortedTransaction[] | null;
}

/**
 * Decodes the complete batches in `bytes[start, end)`, calling `visitor.record` for each data record to
 * deliver. Returns the offset after the last complete batch (where the next fetch starts), or -1 when
 * there was no complete batch.
 */
export function decodeRecordBatches(
  bytes: Buffer,
  start: number,
  end: number,
  partition: PartitionRecords,
  visitor: FetchedRecordVisitor,
): number {
  const aborts =
    partition.aborted && partition.aborted.length > 0 ? new AbortTracker(partition.aborted) : null;
  let next = -1;
  let p = start;
  while (end - p >= LOG_OVERHEAD) {
    const batchEnd = p + LOG_OVERHEAD + bytes.readInt32BE(p + 8);
    if (batchEnd > end) break; // cut by the fetch size: the next fetch starts at this batch
    const baseOffset = readInt64(bytes, p);
    if (batchEnd - p < BATCH_HEADER_SIZE) {
      throw corrupt(partition, baseOffset, `a batch of ${batchEnd - p} bytes is shorter than its header`);
    }
    const magic = bytes[p + 16];
    if (magic !== 2) {
      throw corrupt(
        partition,
        baseOffset,
        `message format v${magic} is not supported (Kafka 0.11+ writes v2)`,
      );
    }
    const crc = bytes.readUInt32BE(p + 17);
    if (crc32c(bytes.subarray(p + CRC_START, batchEnd)) !== crc) {
      throw corrupt(partition, baseOffset, "the record batch's CRC-32C does not match its bytes");
    }
    const attributes = bytes.readInt16BE(p + 21);
    const lastOffset = baseOffset + bytes.readInt32BE(p + 23);
    next = lastOffset + 1;
    if (lastOffset < partition.fetchOffset) {
      p = batchEnd;
      continue;
    }
    const control = (attributes & CONTROL) !== 0;
    if (aborts !== null && (attributes & TRANSACTIONAL) !== 0) {
      const producerId = bytes.readBigInt64BE(p + 43);
      aborts.startedUpTo(lastOffset);
      if (control) {
        if (isAbortMarker(bytes, p + BATCH_HEADER_SIZE)) aborts.ended(producerId);
        p = batchEnd;
        continue;
      }
      if (aborts.isAborted(producerId)) {
        p = batchEnd;
        continue;
      }
    }
    if (control) {
      p = batchEnd;
      continue;
    }
    const baseTimestamp = readInt64(bytes, p + 27);
    const maxTimestamp = (attributes & LOG_APPEND_TIME) !== 0 ? readInt64(bytes, p + 35) : -1;
    const count = bytes.readInt32BE(p + 57);
    const codec = attributes & COMPRESSION_MASK;
    const reader = new RecordReader(
      codec === 0
        ? bytes
        : inflate(bytes.subarray(p + BATCH_HEADER_SIZE, batchEnd), codec, partition, baseOffset),
      codec === 0 ? p + BATCH_HEADER_SIZE : 0,
    );
    try {
      reader.records(count, baseOffset, baseTimestamp, maxTimestamp, partition.fetchOffset, visitor);
    } catch (error) {
      if (error instanceof RangeError) throw corrupt(partition, baseOffset, "a record runs past its batch");
      throw error;
    }
    p = batchEnd;
  }
  return next;
}

/** Reads records from `bytes` starting at `pos`. */
class RecordReader {
  private readonly bytes: Buffer;
  private pos: number;

  constructor(bytes: Buffer, pos: number) {
    this.bytes = bytes;
    this.pos = pos;
  }

  records(
    count: number,
    baseOffset: number,
    baseTimestamp: number,
    maxTimestamp: number,
    fromOffset: number,
    visitor: FetchedRecordVisitor,
  ): void {
    const bytes = this.bytes;
    for (let i = 0; i < count; i++) {
      const length = this.varint();
      const recordEnd = this.pos + length;
      if (recordEnd > bytes.length) throw new RangeError("record past the end");
      this.pos++; // attributes: unused
      const timestampDelta = this.varlong();
      const offset = baseOffset + this.varint();
      if (offset < fromOffset) {
        this.pos = recordEnd;
        continue;
      }
      const key = this.bytesOrNull();
      const value = this.bytesOrNull();
      const headerCount = this.varint();
      let headers: FetchedHeader[] | undefined;
      if (headerCount > 0) {
        headers = new Array<FetchedHeader>(headerCount);
        for (let h = 0; h < headerCount; h++) {
          const nameLength = this.varint();
          const name = bytes.toString("utf8", this.pos, this.pos + nameLength);
          this.pos += nameLength;
          headers[h] = [name, this.bytesOrNull()];
        }
      }
      if (this.pos > recordEnd) throw new RangeError("record fields past the record's length");
      this.pos = recordEnd;
      visitor.record(
        offset,
        maxTimestamp >= 0 ? maxTimestamp : baseTimestamp + timestampDelta,
        key,
        value,
        headers,
      );
    }
  }

  private bytesOrNull(): Buffer | null {
    const length = this.varint();
    if (length < 0) return null;
    const start = this.pos;
    this.pos += length;
    if (this.pos > this.bytes.length) throw new RangeError("bytes past the end");
    return this.bytes.subarray(start, this.pos);
  }

  /** A zigzag VARINT (32 bits). */
  varint(): number {
    const bytes = this.bytes;
    let b = bytes[this.pos++];
    let value = b & 0x7f;
    let shift = 7;
    while (b & 0x80) {
      if (shift > 28 || this.pos >= bytes.length) throw new RangeError("bad varint");
      b = bytes[this.pos++];
      value |= (b & 0x7f) << shift;
      shift += 7;
    }
    return (value >>> 1) ^ -(value & 1);
  }

  /** A zigzag VARLONG, exact up to 2^53 (timestamp deltas). */
  private varlong(): number {
    const bytes = this.bytes;
    let b = bytes[this.pos++];
    if ((b & 0x80) === 0) return (b >>> 1) ^ -(b & 1);
    let value = b & 0x7f;
    let scale = 128;
    do {
      if (scale > 2 ** 63 || this.pos >= bytes.length) throw new RangeError("bad varlong");
      b = bytes[this.pos++];
      value += (b & 0x7f) * scale;
      scale *= 128;
    } while (b & 0x80);
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  }
}

/**
 * Read_committed's view of aborted transactions, as the Java consumer keeps it: a producer's transaction
 * counts as aborted from its first offset (the response lists them) until its ABORT marker.
 */
class AbortTracker {
  private readonly pending: AbortedTransaction[];
  private readonly open = new Set<bigint>();

  constructor(aborted: readonly AbortedTransaction[]) {
    this.pending = [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1));
  }

  /** Opens the aborted transactions that started at or before `lastOffset`. */
  startedUpTo(lastOffset: number): void {
    while (this.pending.length > 0 && Number(this.pending[0].firstOffset) <= lastOffset)
      this.open.add((this.pending.shift() as AbortedTransaction).producerId);
  }

  ended(producerId: bigint): void {
    this.open.delete(producerId);
  }

  isAborted(producerId: bigint): boolean {
    return this.open.has(producerId);
  }
}

/** Whether the control batch whose records start at `recordsStart` is an ABORT marker (key: version, type 0). */
function isAbortMarker(bytes: Buffer, recordsStart: number): boolean {
  const reader = new RecordReader(bytes, recordsStart);
  let type = -1;
  reader.records(1, 0, 0, 0, 0, {
    record: (_offset, _timestamp, key) => {
      if (key !== null && key.length >= 4) type = key.readInt16BE(2);
    },
  });
  return type === 0;
}

function inflate(compressed: Buffer, codec: number, partition: PartitionRecords, baseOffset: number): Buffer {
  const algorithm = compressionsAlgorithmsByBitmask[codec];
  if (!algorithm) throw corrupt(partition, baseOffset, `unknown compression codec ${codec}`);
  if (!algorithm.available) {
    throw new ConnectorError(
      `Kafka record batch in ${partition.label} at offset ${baseOffset} uses a compression codec ` +
        `(${codec}) this Node.js cannot decompress`,
      { retryable: false },
    );
  }
  try {
    return algorithm.decompressSync(compressed);
  } catch (error) {
    throw corrupt(partition, baseOffset, `the batch does not decompress (${(error as Error).message})`);
  }
}

/** A signed INT64 as a number (offsets and epoch-ms timestamps stay far below 2^53). */
function readInt64(bytes: Buffer, at: number): number {
  return bytes.readInt32BE(at) * TWO_32 + bytes.readUInt32BE(at + 4);
}

function corrupt(partition: PartitionRecords, baseOffset: number, why: string): CorruptRecordBatchError {
  return new CorruptRecordBatchError(
    `corrupt Kafka record batch in ${partition.label} at offset ${baseOffset}: ${why}`,
  );
}

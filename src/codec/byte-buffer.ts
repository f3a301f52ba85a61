/**
 * A growable byte buffer for encoders on the per-event path (Kafka record batches, JSON values): one
 * allocation per batch instead of one per field, written with plain index stores.
 */
export class ByteBuffer {
  bytes: Buffer;
  position = 0;

  constructor(initialSize = 64 * 1024) {
    this.bytes = Buffer.allocUnsafe(initialSize);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const needed = this.position + n;
    if (needed <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.bytes.length * 2));
    this.bytes.copy(grown, 0, 0, this.position);
    this.bytes = grown;
  }

  /** Appends one byte (room must have been ensured). */
  byte(value: number): void {
    this.bytes[this.position++] = value;
  }

  /** Appends `source` (any length; grows as needed). */
  append(source: Uint8Array): void {
    const n = source.length;
    this.ensure(n);
    if (n < 32) {
      const bytes = this.bytes;
      let p = this.position;
      for (let i = 0; i < n; i++) bytes[p++] = source[i];
      this.position = p;
    } else {
      this.bytes.set(source, this.position);
      this.position += n;
    }
  }

  /** Appends a string of Latin-1 characters only (digits, ISO dates, quoted ASCII): one byte per char. */
  ascii(text: string): void {
    this.ensure(text.length);
    this.position += this.bytes.write(text, this.position, "latin1");
  }

  /** Appends `text` as UTF-8. */
  utf8(text: string): void {
    this.ensure(text.length * 3);
    this.position += this.bytes.write(text, this.position, "utf8");
  }

  int8(value: number): void {
    this.ensure(1);
    this.bytes.writeInt8(value, this.position);
    this.position += 1;
  }

  int16(value: number): void {
    this.ensure(2);
    this.bytes.writeInt16BE(value, this.position);
    this.position += 2;
  }

  int32(value: number): void {
    this.ensure(4);
    this.bytes.writeInt32BE(value, this.position);
    this.position += 4;
  }

  uint32At(offset: number, value: number): void {
    this.bytes.writeUInt32BE(value, offset);
  }

  int64(value: bigint): void {
    this.ensure(8);
    this.bytes.writeBigInt64BE(value, this.position);
    this.position += 8;
  }

  /** Unsigned LEB128 varint (Kafka's UNSIGNED_VARINT: compact lengths, tagged-field counts). */
  uvarint(value: number): void {
    this.ensure(5);
    const bytes = this.bytes;
    let v = value >>> 0;
    while (v >= 0x80) {
      bytes[this.position++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    bytes[this.position++] = v;
  }

  /** Zig-zag varint (Kafka's VARINT: record fields). */
  varint(value: number): void {
    this.uvarint((value << 1) ^ (value >> 31));
  }

  /** Zig-zag varint of a safe integer of up to 64 bits (Kafka's VARLONG: record timestamp deltas). */
  varlong(value: number): void {
    if (value >= -0x40000000 && value < 0x40000000) {
      this.varint(value);
      return;
    }
    this.ensure(10);
    const bytes = this.bytes;
    let v = zigzag64(value);
    while (v >= 0x80) {
      bytes[this.position++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    bytes[this.position++] = v;
  }

  /** The bytes written so far (a view, not a copy). */
  view(start = 0, end = this.position): Buffer {
    return this.bytes.subarray(start, end);
  }
}

/** Bytes an unsigned varint of `value` takes. */
function uvarintSize(value: number): number {
  let v = value >>> 0;
  let size = 1;
  while (v >= 0x80) {
    v >>>= 7;
    size++;
  }
  return size;
}

/** Bytes a zig-zag varint of `value` takes. */
export function varintSize(value: number): number {
  return uvarintSize((value << 1) ^ (value >> 31));
}

/** Bytes a zig-zag varlong of the safe integer `value` takes. */
export function varlongSize(value: number): number {
  if (value >= -0x40000000 && value < 0x40000000) return varintSize(value);
  let v = zigzag64(value);
  let size = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    size++;
  }
  return size;
}

/** 64-bit zig-zag of a safe integer, as a (safe, non-negative) number. */
function zigzag64(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/**
 * The receiver's write-ahead log: every accepted export request is appended here and flushed to disk
 * (fdatasync) before the client gets its 200, and the `$source` reads it back in order from the position
 * its checkpoint saved. Segments whose every frame all readers have acknowledged are deleted.
 *
 * Layout: one directory per connection and signal, holding segment files named after the global byte
 * offset of their first frame. A frame is `u32 length | u32 crc32c(payload) | payload`, where the payload
 * is `u8 encoding | f64 receivedAt | u8 idLength | requestId | body` — the request body as received
 * (decompressed), so that the disk holds the compact wire form and replay maps it again exactly as the
 * receiver did. A torn frame at the end of the last segment (a crash mid-write) is cut off on open.
 */
import { crc32c } from "@node-rs/crc32";
import { mkdir, open, readdir, rm, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";

export type BodyEncoding = "protobuf" | "json";

/** One accepted request as the spool keeps it. */
export interface SpoolEntry {
  readonly encoding: BodyEncoding;
  readonly receivedAt: number;
  readonly requestId: string;
  readonly body: Uint8Array;
}

/** An entry read back, with the offsets it spans (`end` is the position after it). */
export interface SpoolFrame extends SpoolEntry {
  readonly offset: number;
  readonly end: number;
}

export class SpoolFullError extends Error {
  override readonly name = "SpoolFullError";
}

const HEADER = 8;
const SEGMENT_SUFFIX = ".spool";
const READ_CHUNK = 1 << 20;

interface Segment {
  readonly start: number;
  size: number;
}

export interface SpoolOptions {
  /** Unacknowledged bytes above which appends are refused (the receiver answers 503). */
  readonly maxBytes: number;
  /** A segment is closed for appends once it reaches this size. */
  readonly segmentBytes?: number;
}

export class Spool {
  private readonly segments: Segment[] = [];
  private handle: FileHandle | undefined;
  private pending: { frame: Buffer; resolve: (offset: number) => void; reject: (error: Error) => void }[] =
    [];
  private flushing = false;
  private readonly acked = new Map<string, number>();
  private closed = false;

  readonly dir: string;
  private readonly options: SpoolOptions;

  private constructor(dir: string, options: SpoolOptions) {
    this.dir = dir;
    this.options = options;
  }

  static async open(dir: string, options: SpoolOptions): Promise<Spool> {
    await mkdir(dir, { recursive: true });
    const spool = new Spool(dir, options);
    const names = (await readdir(dir)).filter((name) => name.endsWith(SEGMENT_SUFFIX)).sort();
    for (const name of names) {
      const start = Number(name.slice(0, -SEGMENT_SUFFIX.length));
      spool.segments.push({ start, size: (await stat(join(dir, name))).size });
    }
    const last = spool.segments.at(-1);
    if (last) last.size = await spool.validTail(last);
    else spool.segments.push({ start: 0, size: 0 });
    const tail = spool.segments.at(-1)!;
    spool.handle = await open(spool.segmentPath(tail.start), "a");
    await spool.handle.truncate(tail.size);
    return spool;
  }

  /** The offset of the oldest frame kept. */
  get startOffset(): number {
    return this.segments[0]!.start;
  }

  /** The offset after the last durable frame. */
  get endOffset(): number {
    const tail = this.segments.at(-1)!;
    return tail.start + tail.size;
  }

  /** Bytes not yet acknowledged by every reader (everything kept when no reader has attached yet). */
  get backlogBytes(): number {
    return this.endOffset - this.retainFrom();
  }

  /** Whether an append of `bytes` more would exceed the bound now. */
  isFull(bytes = 0): boolean {
    return this.backlogBytes + this.pendingBytes() + bytes > this.options.maxBytes;
  }

  /** Appends one entry and resolves with its offset once it is on disk. Rejects with SpoolFullError when full. */
  append(entry: SpoolEntry): Promise<number> {
    if (this.closed) return Promise.reject(new Error("the spool is closed"));
    const frame = encodeFrame(entry);
    if (this.isFull(frame.length)) return Promise.reject(new SpoolFullError("the spool is full"));
    return new Promise((resolve, reject) => {
      this.pending.push({ frame, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /**
   * Group commit: everything queued while the previous write was on its way is written and synced
   * together, then each append resolves with its own offset.
   */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        try {
          await this.rollIfNeeded();
          const tail = this.segments.at(-1)!;
          const buffer =
            batch.length === 1 ? batch[0]!.frame : Buffer.concat(batch.map((item) => item.frame));
          await this.handle!.write(buffer, 0, buffer.length);
          await this.handle!.datasync();
          let offset = tail.start + tail.size;
          tail.size += buffer.length;
          for (const item of batch) {
            item.resolve(offset);
            offset += item.frame.length;
          }
        } catch (error) {
          for (const item of batch) item.reject(error as Error);
          // The file may hold part of the batch now: cut it back so offsets stay exact.
          const tail = this.segments.at(-1)!;
          await this.handle?.truncate(tail.size).catch(() => {});
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async rollIfNeeded(): Promise<void> {
    const tail = this.segments.at(-1)!;
    if (tail.size < (this.options.segmentBytes ?? 64 << 20)) return;
    await this.handle?.close();
    const next = { start: tail.start + tail.size, size: 0 };
    this.handle = await open(this.segmentPath(next.start), "a");
    this.segments.push(next);
  }

  /**
   * Frames from `offset` on, up to about `maxBytes` (at least one frame when there is one). An offset
   * before the oldest kept frame starts at the oldest.
   */
  async read(offset: number, maxBytes: number): Promise<SpoolFrame[]> {
    const frames: SpoolFrame[] = [];
    let position = Math.max(offset, this.startOffset);
    let budget = maxBytes;
    while (position < this.endOffset && budget > 0) {
      const segment = this.segmentAt(position);
      if (!segment) break;
      const within = position - segment.start;
      if (within >= segment.size) {
        position = segment.start + segment.size;
        continue;
      }
      const length = Math.min(segment.size - within, Math.max(READ_CHUNK, Math.min(budget, 16 << 20)));
      const chunk = await this.readBytes(segment, within, length);
      let at = 0;
      while (at + HEADER <= chunk.length) {
        const size = chunk.readUInt32LE(at);
        if (at + HEADER + size > chunk.length) break;
        const payload = chunk.subarray(at + HEADER, at + HEADER + size);
        frames.push({ ...decodePayload(payload), offset: position + at, end: position + at + HEADER + size });
        at += HEADER + size;
        budget -= HEADER + size;
        if (budget <= 0) break;
      }
      if (at === 0) {
        // One frame larger than the chunk: read exactly it.
        const size = chunk.readUInt32LE(0);
        const whole = await this.readBytes(segment, within, HEADER + size);
        frames.push({
          ...decodePayload(whole.subarray(HEADER)),
          offset: position,
          end: position + HEADER + size,
        });
        at = HEADER + size;
        budget -= at;
      }
      position += at;
    }
    return frames;
  }

  /** When the oldest request some reader has not acknowledged was received (epoch ms); undefined when none. */
  async oldestUnacknowledgedAt(): Promise<number | undefined> {
    const from = this.retainFrom();
    const segment = this.segmentAt(from);
    if (from >= this.endOffset || !segment || from - segment.start >= segment.size) return undefined;
    const header = await this.readBytes(segment, from - segment.start, HEADER + 9);
    return header.length === HEADER + 9 ? header.readDoubleLE(HEADER + 1) : undefined;
  }

  /** Records that `reader` has everything before `offset`; segments no reader needs any more are deleted. */
  async acknowledge(reader: string, offset: number): Promise<void> {
    this.acked.set(reader, Math.max(offset, this.acked.get(reader) ?? 0));
    await this.deleteUnneeded();
  }

  /** A reader joins: nothing it has not acknowledged is deleted from now on. */
  attach(reader: string, from: number): void {
    if (!this.acked.has(reader)) this.acked.set(reader, Math.max(from, this.startOffset));
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await new Promise((resolve) => setTimeout(resolve, 5));
    await this.handle?.close();
    this.handle = undefined;
  }

  private retainFrom(): number {
    if (this.acked.size === 0) return this.startOffset;
    return Math.max(this.startOffset, Math.min(...this.acked.values()));
  }

  private pendingBytes(): number {
    let bytes = 0;
    for (const item of this.pending) bytes += item.frame.length;
    return bytes;
  }

  private async deleteUnneeded(): Promise<void> {
    const keepFrom = this.retainFrom();
    while (this.segments.length > 1 && this.segments[0]!.start + this.segments[0]!.size <= keepFrom) {
      const segment = this.segments.shift()!;
      await rm(this.segmentPath(segment.start), { force: true });
    }
  }

  private segmentAt(offset: number): Segment | undefined {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const segment = this.segments[i]!;
      if (segment.start <= offset) return segment;
    }
    return undefined;
  }

  private async readBytes(segment: Segment, at: number, length: number): Promise<Buffer> {
    const handle = await open(this.segmentPath(segment.start), "r");
    try {
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, at);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  /** The length of the valid prefix of a segment: frames whose length and checksum hold. */
  private async validTail(segment: Segment): Promise<number> {
    const handle = await open(this.segmentPath(segment.start), "r");
    try {
      let at = 0;
      const header = Buffer.alloc(HEADER);
      for (;;) {
        const { bytesRead } = await handle.read(header, 0, HEADER, at);
        if (bytesRead < HEADER) return at;
        const size = header.readUInt32LE(0);
        if (at + HEADER + size > segment.size) return at;
        const payload = Buffer.allocUnsafe(size);
        await handle.read(payload, 0, size, at + HEADER);
        if (crc32c(payload) !== header.readUInt32LE(4)) return at;
        at += HEADER + size;
      }
    } finally {
      await handle.close();
    }
  }

  private segmentPath(start: number): string {
    return join(this.dir, `${String(start).padStart(20, "0")}${SEGMENT_SUFFIX}`);
  }
}

function encodeFrame(entry: SpoolEntry): Buffer {
  const id = Buffer.from(entry.requestId, "utf8").subarray(0, 255);
  const payloadSize = 1 + 8 + 1 + id.length + entry.body.length;
  const frame = Buffer.allocUnsafe(HEADER + payloadSize);
  frame.writeUInt32LE(payloadSize, 0);
  let at = HEADER;
  frame.writeUInt8(entry.encoding === "protobuf" ? 0 : 1, at++);
  frame.writeDoubleLE(entry.receivedAt, at);
  at += 8;
  frame.writeUInt8(id.length, at++);
  id.copy(frame, at);
  at += id.length;
  frame.set(entry.body, at);
  frame.writeUInt32LE(crc32c(frame.subarray(HEADER)), 4);
  return frame;
}

function decodePayload(payload: Buffer): SpoolEntry {
  const encoding: BodyEncoding = payload.readUInt8(0) === 0 ? "protobuf" : "json";
  const receivedAt = payload.readDoubleLE(1);
  const idLength = payload.readUInt8(9);
  const requestId = payload.toString("utf8", 10, 10 + idLength);
  return { encoding, receivedAt, requestId, body: payload.subarray(10 + idLength) };
}

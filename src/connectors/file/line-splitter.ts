/** MongoDB's maximum document size, and the default longest line a File source accepts. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;
/** How much of an oversized line is kept for its DLQ record. */
export const OVERSIZED_HEAD_BYTES = 1024;

/** One line of input, without its `\n` (and `\r`), or the head and length of a line that was too long. */
export type SplitLine = (
  | { readonly bytes: Buffer; readonly oversized?: undefined }
  | { readonly oversized: { readonly head: Buffer; readonly length: number }; readonly bytes?: undefined }
) & {
  /** Bytes of input the line took, its `\n` included: where the next line starts. */
  readonly consumed: number;
};

/**
 * Splits a byte stream into lines in time linear in its length: each chunk is scanned once for `\n`, and a
 * line spanning chunks is kept as a list of pieces joined once when it ends. A line longer than
 * `maxLineBytes` is not kept: only its first bytes are, while the rest is counted until its end.
 */
export class LineSplitter {
  private readonly maxLineBytes: number;
  private pieces: Buffer[] = [];
  private pendingBytes = 0;
  /** Set while inside an oversized line: its first bytes and its length so far. */
  private oversized: { head: Buffer; length: number } | undefined;

  constructor(maxLineBytes: number = DEFAULT_MAX_LINE_BYTES) {
    this.maxLineBytes = maxLineBytes;
  }

  /** No line is unfinished: the next byte pushed starts a line. */
  get atLineStart(): boolean {
    return this.pendingBytes === 0 && this.oversized === undefined;
  }

  /** Appends the lines `chunk` completes to `out`. */
  push(chunk: Buffer, out: SplitLine[]): void {
    let start = 0;
    for (let end = chunk.indexOf(10, start); end !== -1; end = chunk.indexOf(10, start)) {
      out.push(this.complete(chunk.subarray(start, end), 1));
      start = end + 1;
    }
    if (start < chunk.length) this.keep(chunk.subarray(start));
  }

  /** Appends the last line when the input did not end with `\n`. */
  end(out: SplitLine[]): void {
    if (this.pendingBytes > 0 || this.oversized) out.push(this.complete(Buffer.alloc(0), 0));
  }

  private keep(piece: Buffer): void {
    if (this.oversized) {
      this.oversized.length += piece.length;
      return;
    }
    if (this.pendingBytes + piece.length > this.maxLineBytes) {
      this.oversized = { head: this.head(piece), length: this.pendingBytes + piece.length };
      this.pieces = [];
      this.pendingBytes = 0;
      return;
    }
    this.pieces.push(piece);
    this.pendingBytes += piece.length;
  }

  /** The line that ends with `last` (and `terminator` bytes: 1 for `\n`, 0 at end of input). */
  private complete(last: Buffer, terminator: number): SplitLine {
    const oversized = this.oversized;
    if (oversized) {
      this.oversized = undefined;
      const length = oversized.length + last.length;
      return { oversized: { head: oversized.head, length }, consumed: length + terminator };
    }
    const length = this.pendingBytes + last.length;
    const consumed = length + terminator;
    let line: SplitLine;
    if (length - (endsWithCr(last, this.pieces) ? 1 : 0) > this.maxLineBytes) {
      line = { oversized: { head: this.head(last), length }, consumed };
    } else {
      const bytes = this.pieces.length === 0 ? last : Buffer.concat([...this.pieces, last], length);
      line = { bytes: withoutCr(bytes), consumed };
    }
    this.pieces = [];
    this.pendingBytes = 0;
    return line;
  }

  /** The first OVERSIZED_HEAD_BYTES of the pending pieces followed by `piece`, copied. */
  private head(piece: Buffer): Buffer {
    const parts: Buffer[] = [];
    let size = 0;
    for (const part of [...this.pieces, piece]) {
      if (size >= OVERSIZED_HEAD_BYTES) break;
      const take = part.subarray(0, OVERSIZED_HEAD_BYTES - size);
      parts.push(take);
      size += take.length;
    }
    return Buffer.from(Buffer.concat(parts, size));
  }
}

function withoutCr(bytes: Buffer): Buffer {
  return bytes.length > 0 && bytes[bytes.length - 1] === 13 ? bytes.subarray(0, -1) : bytes;
}

function endsWithCr(last: Buffer, pieces: readonly Buffer[]): boolean {
  if (last.length > 0) return last[last.length - 1] === 13;
  const previous = pieces[pieces.length - 1];
  return previous !== undefined && previous[previous.length - 1] === 13;
}

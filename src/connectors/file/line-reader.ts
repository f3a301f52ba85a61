import { LineSplitter, type SplitLine } from "./line-splitter.ts";
import { SlabCopies, type SlabCopy } from "./slab-copies.ts";

/**
 * A chunk of input kept for `rewind`, with the line count before and after it: a copy of the bytes read in
 * reused slabs (slab-copies.ts), not line objects, so keeping them costs the garbage collector nothing.
 */
interface RetainedChunk {
  readonly copy: SlabCopy;
  /** Lines completed before the chunk (from where the stream started). */
  readonly linesBefore: number;
  /** The chunk starts a line (no line was left unfinished before it). */
  readonly atLineStart: boolean;
  /** Lines completed once the chunk was split. */
  readonly linesAfter: number;
}

/**
 * The lines of one readable stream, handed over one at a time, with how many lines and bytes were handed
 * over so far. Reads a chunk only when every line of the previous one was taken.
 *
 * With `retainBytes`, the input read since the last `release` is kept (up to that many bytes) so that
 * `rewind` can hand its lines over again: a stream (stdin) cannot be read twice, and a processor restarted
 * after a failed write must see again what it read since its checkpoint.
 */
export class LineReader {
  readonly stream: NodeJS.ReadableStream;
  /** Lines handed over (from where the stream started). */
  linesTaken: number;
  /** Bytes of input the lines handed over took (from where the stream started). */
  bytesTaken: number;
  private readonly maxLineBytes: number;
  private readonly splitter: LineSplitter;
  private iterator: AsyncIterator<string | Buffer> | undefined;
  private pendingRead: Promise<IteratorResult<string | Buffer>> | undefined;
  private ready: Promise<void> | undefined;
  private lines: SplitLine[] = [];
  private lineIndex = 0;
  private ended = false;
  /** Lines the splitter completed so far (from where the stream started). */
  private linesSplit: number;
  private readonly retainBytes: number;
  private retained: RetainedChunk[] = [];
  private retainedBytes = 0;
  private readonly slabs = new SlabCopies();
  /** Lines before this one were released: never handed over again. */
  private releasedBefore: number;

  constructor(
    stream: NodeJS.ReadableStream,
    options: { maxLineBytes: number; firstLine?: number; firstByte?: number; retainBytes?: number },
  ) {
    this.stream = stream;
    this.maxLineBytes = options.maxLineBytes;
    this.splitter = new LineSplitter(options.maxLineBytes);
    this.linesTaken = options.firstLine ?? 0;
    this.linesSplit = this.linesTaken;
    this.releasedBefore = this.linesTaken;
    this.bytesTaken = options.firstByte ?? 0;
    this.retainBytes = options.retainBytes ?? 0;
  }

  /** Bytes of input kept for `rewind` (read since the last `release`). */
  get retainedSize(): number {
    return this.retainedBytes;
  }

  /** The lines before line number `line` will not be asked for again. */
  release(line: number): void {
    this.releasedBefore = Math.max(this.releasedBefore, line);
    // A chunk whose every byte belongs to lines before `line` is let go.
    let drop = 0;
    while (drop < this.retained.length && this.retained[drop].linesAfter < line) {
      this.letGo(this.retained[drop]);
      drop++;
    }
    if (drop > 0) this.retained = this.retained.slice(drop);
  }

  /** Hands the lines from line number `line` on over again; false when they are no longer kept. */
  rewind(line: number): boolean {
    if (line === this.linesTaken) return true;
    if (line > this.linesTaken || line < this.releasedBefore) return false;
    const again = this.splitRetained();
    if (again === undefined || line < again.firstLine) return false;
    const lines = again.lines.slice(line - again.firstLine);
    for (let i = 0; i < this.linesTaken - line; i++) this.bytesTaken -= lines[i].consumed;
    this.lines = lines;
    this.lineIndex = 0;
    this.linesTaken = line;
    return true;
  }

  /**
   * The lines of the kept input split again, from the first line that starts in it: every line split so
   * far from there, taken or not. Undefined when nothing is kept or the result does not line up.
   */
  private splitRetained(): { firstLine: number; lines: SplitLine[] } | undefined {
    const first = this.retained[0];
    if (first === undefined) return undefined;
    let firstLine = first.linesBefore;
    const firstBytes =
      first.copy.pieces.length === 1 ? first.copy.pieces[0] : Buffer.concat(first.copy.pieces);
    let offset = 0;
    if (!first.atLineStart) {
      // The chunk finishes a line whose beginning is no longer kept: start after its end.
      offset = firstBytes.indexOf(10) + 1;
      firstLine++;
      if (offset === 0) return undefined;
    }
    const splitter = new LineSplitter(this.maxLineBytes);
    const lines: SplitLine[] = [];
    splitter.push(firstBytes.subarray(offset), lines);
    for (let i = 1; i < this.retained.length; i++) {
      for (const piece of this.retained[i].copy.pieces) splitter.push(piece, lines);
    }
    if (this.ended) splitter.end(lines);
    return firstLine + lines.length === this.linesSplit ? { firstLine, lines } : undefined;
  }

  /** Resolves once the stream can be read; rejects when it cannot be opened (a missing file). */
  open(): Promise<void> {
    this.ready ??= new Promise<void>((resolve, reject) => {
      const stream = this.stream;
      const settle = (error?: Error): void => {
        stream.off("error", settle);
        stream.off("readable", settle);
        stream.off("end", settle);
        if (error) reject(error);
        else {
          this.iterator = stream[Symbol.asyncIterator]() as AsyncIterator<string | Buffer>;
          resolve();
        }
      };
      stream.once("error", settle);
      stream.once("readable", () => settle());
      stream.once("end", () => settle());
    });
    return this.ready;
  }

  /** True once every line was handed over. */
  get done(): boolean {
    return this.ended && this.lineIndex >= this.lines.length;
  }

  /** The next line read so far, or undefined when the next chunk must be read first. */
  take(): SplitLine | undefined {
    if (this.lineIndex >= this.lines.length) return undefined;
    const line = this.lines[this.lineIndex++];
    this.linesTaken++;
    this.bytesTaken += line.consumed;
    return line;
  }

  /** Keeps a chunk for `rewind`; over the bound the oldest half is let go (a rewind there is refused). */
  private retain(chunk: Buffer, linesBefore: number, atLineStart: boolean): void {
    const copy = this.slabs.copy(chunk);
    this.retained.push({ copy, linesBefore, atLineStart, linesAfter: this.linesSplit });
    this.retainedBytes += copy.length;
    if (this.retainedBytes <= this.retainBytes) return;
    let drop = 0;
    while (drop < this.retained.length && this.retainedBytes > this.retainBytes / 2) {
      this.letGo(this.retained[drop++]);
    }
    this.retained = this.retained.slice(drop);
  }

  private letGo(entry: RetainedChunk): void {
    this.retainedBytes -= entry.copy.length;
    this.slabs.free(entry.copy);
  }

  /**
   * Reads the next chunk into the lines to take. Returns false at end of input, "idle" when nothing came
   * within `waitMs` (0: only what is already buffered).
   */
  async read(waitMs: number): Promise<boolean | "idle"> {
    if (!this.iterator) throw new Error("LineReader.read() called before open()");
    if (this.ended) return false;
    this.pendingRead ??= this.iterator.next();
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<"idle">((resolve) => (timer = setTimeout(() => resolve("idle"), waitMs)));
    const result = await Promise.race([this.pendingRead, idle]);
    clearTimeout(timer);
    if (result === "idle") return "idle";
    this.pendingRead = undefined;
    const lines: SplitLine[] = this.lineIndex < this.lines.length ? this.lines.slice(this.lineIndex) : [];
    this.lineIndex = 0;
    this.lines = lines;
    const before = lines.length;
    if (result.done) {
      this.ended = true;
      this.splitter.end(lines);
      this.linesSplit += lines.length - before;
      return lines.length > 0;
    }
    const value = result.value;
    const chunk = typeof value === "string" ? Buffer.from(value, "utf8") : value;
    const linesBefore = this.linesSplit;
    const atLineStart = this.splitter.atLineStart;
    this.splitter.push(chunk, lines);
    this.linesSplit += lines.length - before;
    if (this.retainBytes > 0) this.retain(chunk, linesBefore, atLineStart);
    return true;
  }
}

import { LineSplitter, type SplitLine } from "./line-splitter.ts";

/**
 * The lines of one readable stream, handed over one at a time, with how many lines and bytes were handed
 * over so far. Reads a chunk only when every line of the previous one was taken.
 *
 * With `retainBytes`, the lines handed over since the last `release` are kept (up to that many bytes) so
 * that `rewind` can hand them over again: a stream (stdin) cannot be read twice, and a processor restarted
 * after a failed write must see again what it read since its checkpoint.
 */
export class LineReader {
  readonly stream: NodeJS.ReadableStream;
  /** Lines handed over (from where the stream started). */
  linesTaken: number;
  /** Bytes of input the lines handed over took (from where the stream started). */
  bytesTaken: number;
  private readonly splitter: LineSplitter;
  private iterator: AsyncIterator<string | Buffer> | undefined;
  private pendingRead: Promise<IteratorResult<string | Buffer>> | undefined;
  private ready: Promise<void> | undefined;
  private lines: SplitLine[] = [];
  private lineIndex = 0;
  private ended = false;
  private readonly retainBytes: number;
  private retained: SplitLine[] = [];
  private retainedBytes = 0;
  /** The line number (lines taken before it) of `retained[0]`. */
  private retainedFrom = 0;

  constructor(
    stream: NodeJS.ReadableStream,
    options: { maxLineBytes: number; firstLine?: number; firstByte?: number; retainBytes?: number },
  ) {
    this.stream = stream;
    this.splitter = new LineSplitter(options.maxLineBytes);
    this.linesTaken = options.firstLine ?? 0;
    this.bytesTaken = options.firstByte ?? 0;
    this.retainBytes = options.retainBytes ?? 0;
    this.retainedFrom = this.linesTaken;
  }

  /** The lines before line number `line` will not be asked for again. */
  release(line: number): void {
    const drop = Math.min(line - this.retainedFrom, this.retained.length);
    if (drop <= 0) return;
    for (let i = 0; i < drop; i++) this.retainedBytes -= this.retained[i].consumed;
    this.retained = this.retained.slice(drop);
    this.retainedFrom += drop;
  }

  /** Hands the lines from line number `line` on over again; false when they are no longer kept. */
  rewind(line: number): boolean {
    if (line === this.linesTaken) return true;
    if (line < this.retainedFrom || line > this.linesTaken) return false;
    const again = this.retained.slice(line - this.retainedFrom);
    this.retained.length = line - this.retainedFrom;
    for (const taken of again) {
      this.retainedBytes -= taken.consumed;
      this.bytesTaken -= taken.consumed;
    }
    this.lines = [...again, ...this.lines.slice(this.lineIndex)];
    this.lineIndex = 0;
    this.linesTaken = line;
    return true;
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
    if (this.retainBytes > 0) this.retain(line);
    return line;
  }

  private retain(line: SplitLine): void {
    this.retained.push(line);
    this.retainedBytes += line.consumed;
    if (this.retainedBytes <= this.retainBytes) return;
    // Over the bound the oldest half is let go (at once, so taking stays linear): a rewind to those lines
    // is refused instead of memory growing.
    let drop = 0;
    let freed = 0;
    while (drop < this.retained.length && this.retainedBytes - freed > this.retainBytes / 2) {
      freed += this.retained[drop++].consumed;
    }
    this.retained = this.retained.slice(drop);
    this.retainedBytes -= freed;
    this.retainedFrom += drop;
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
    if (result.done) {
      this.ended = true;
      this.splitter.end(lines);
      return lines.length > 0;
    }
    const chunk = result.value;
    this.splitter.push(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk, lines);
    return true;
  }
}

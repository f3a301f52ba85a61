import { LineSplitter, type SplitLine } from "./line-splitter.ts";

/**
 * The lines of one readable stream, handed over one at a time, with how many lines and bytes were handed
 * over so far. Reads a chunk only when every line of the previous one was taken.
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

  constructor(
    stream: NodeJS.ReadableStream,
    options: { maxLineBytes: number; firstLine?: number; firstByte?: number },
  ) {
    this.stream = stream;
    this.splitter = new LineSplitter(options.maxLineBytes);
    this.linesTaken = options.firstLine ?? 0;
    this.bytesTaken = options.firstByte ?? 0;
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

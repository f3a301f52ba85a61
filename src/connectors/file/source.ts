import { createReadStream } from "node:fs";
import type { Doc } from "../../mql/index.ts";
import {
  systemClock,
  type Clock,
  type Source,
  type SourceBatch,
  type SourceRecord,
} from "../../runtime/index.ts";
import { ConnectorError } from "../../runtime/errors.ts";
import { parseJsonLine } from "./parse-line.ts";

export interface FileSourceOptions {
  /** Lines per batch. Default 1000. */
  readonly batchSize?: number;
  readonly clock?: Clock;
  /** With nothing to read for this long, `next()` returns an idle batch. Default 1000 ms. */
  readonly idlePollMs?: number;
  /** Resume after this many lines (a checkpoint's `positions().line`): they are read and skipped. */
  readonly line?: number;
}

/**
 * JSON Lines from a file or a stream (stdin): one relaxed or canonical Extended JSON document per line.
 * Lines that are not acceptable documents become error records (the runtime dead-letters them with the raw
 * line). Finite: ends at end of file. Source type `file`.
 */
export class FileSource implements Source {
  readonly type = "file";
  readonly operatorName = "FileSourceOperator";
  private readonly input: () => NodeJS.ReadableStream;
  private readonly label: string;
  private readonly batchSize: number;
  private readonly clock: Clock;
  private readonly idlePollMs: number;
  private chunks: AsyncIterator<string | Buffer> | undefined;
  private pendingRead: Promise<IteratorResult<string | Buffer>> | undefined;
  private stream: NodeJS.ReadableStream | undefined;
  private lines: string[] = [];
  private lineIndex = 0;
  private carry = "";
  private ended = false;
  private lineNumber = 0;
  private readonly skipLines: number;

  /** `path` is a file name, `"-"` for stdin, or an open readable stream. */
  constructor(path: string | NodeJS.ReadableStream, options: FileSourceOptions = {}) {
    if (typeof path === "string") {
      this.label = path === "-" ? "stdin" : path;
      this.input = () => (path === "-" ? process.stdin : createReadStream(path));
    } else {
      this.label = "stream";
      this.input = () => path;
    }
    this.batchSize = options.batchSize ?? 1000;
    this.clock = options.clock ?? systemClock;
    this.idlePollMs = options.idlePollMs ?? 1000;
    this.skipLines = options.line ?? 0;
  }

  async start(): Promise<void> {
    const stream = this.input();
    stream.setEncoding("utf8");
    await new Promise<void>((resolve, reject) => {
      // A missing file surfaces here as a processor error rather than an unhandled stream error later.
      const onError = (error: Error): void =>
        reject(new ConnectorError(`cannot read ${this.label}: ${error.message}`, { retryable: false }));
      stream.once("error", onError);
      stream.once("readable", () => {
        stream.off("error", onError);
        resolve();
      });
      stream.once("end", () => {
        stream.off("error", onError);
        resolve();
      });
    });
    this.stream = stream;
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<string | Buffer>;
  }

  async next(): Promise<SourceBatch | undefined> {
    const records: SourceRecord[] = [];
    const now = this.clock.now();
    while (records.length < this.batchSize) {
      if (this.lineIndex < this.lines.length) {
        const line = this.lines[this.lineIndex++];
        this.lineNumber++;
        if (this.lineNumber <= this.skipLines) continue;
        const record = this.toRecord(line, now);
        if (record) records.push(record);
        continue;
      }
      if (this.ended) break;
      // With records in hand, only take a chunk that is already there: a quiet stream must not hold them back.
      const more = await this.readChunk(records.length === 0 ? this.idlePollMs : 0);
      if (more === "idle") {
        if (records.length === 0) return { records: [], idle: true };
        break;
      }
      if (!more && records.length > 0) break;
    }
    if (records.length === 0 && this.ended) return undefined;
    return { records };
  }

  positions(): Doc {
    return { file: this.label, line: this.lineNumber };
  }

  async close(): Promise<void> {
    const stream = this.stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
    if (stream && stream !== process.stdin) stream.destroy?.();
  }

  private toRecord(line: string, now: number): SourceRecord | undefined {
    if (line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim().length === 0)) return undefined;
    const size = Buffer.byteLength(line);
    const parsed = parseJsonLine(line);
    if (parsed.error !== undefined) {
      return {
        doc: undefined,
        partition: 0,
        timestamp: now,
        meta: { file: this.label, line: this.lineNumber },
        size,
        error: { message: parsed.error, raw: line },
      };
    }
    return { doc: parsed.doc, partition: 0, timestamp: now, meta: undefined, size };
  }

  /**
   * Reads the next chunk into `lines`. Returns false at end of input (nothing new), "idle" when nothing came
   * within `waitMs` (0: only what is already buffered).
   */
  private async readChunk(waitMs: number): Promise<boolean | "idle"> {
    if (!this.chunks) throw new Error("FileSource.next() called before start()");
    this.pendingRead ??= this.chunks.next();
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<"idle">((resolve) => (timer = setTimeout(() => resolve("idle"), waitMs)));
    const result = await Promise.race([this.pendingRead, idle]);
    clearTimeout(timer);
    if (result === "idle") return "idle";
    this.pendingRead = undefined;
    if (result.done) {
      this.ended = true;
      this.lines = this.carry.length > 0 ? [this.carry] : [];
      this.lineIndex = 0;
      this.carry = "";
      return this.lines.length > 0;
    }
    const text = this.carry + String(result.value);
    const parts = text.split("\n");
    this.carry = parts.pop() ?? "";
    this.lines = parts;
    this.lineIndex = 0;
    for (let i = 0; i < parts.length; i++) if (parts[i].endsWith("\r")) parts[i] = parts[i].slice(0, -1);
    return true;
  }
}

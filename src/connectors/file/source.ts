import { isUtf8 } from "node:buffer";
import { createReadStream } from "node:fs";
import type { Doc } from "../../mql/index.ts";
import {
  jsonLogger,
  systemClock,
  type Clock,
  type Logger,
  type Source,
  type SourceBatch,
  type SourceRecord,
} from "../../runtime/index.ts";
import { ConnectorError } from "../../runtime/errors.ts";
import { fileIdentity, replacementReason, type FileIdentity } from "./file-identity.ts";
import { LineReader } from "./line-reader.ts";
import { DEFAULT_MAX_LINE_BYTES, type SplitLine } from "./line-splitter.ts";
import { parseJsonLine } from "./parse-line.ts";

/** What to do with a line that is not valid UTF-8: dead-letter it (default), or read it with U+FFFD. */
export type InvalidUtf8Policy = "dlq" | "replace";

export interface FileSourceOptions {
  /** Lines per batch. Default 1000. */
  readonly batchSize?: number;
  readonly clock?: Clock;
  /** With nothing to read for this long, `next()` returns an idle batch. Default 1000 ms. */
  readonly idlePollMs?: number;
  /** A checkpoint's `positions()` to resume from (`line`; for a file also `offset`, `inode`, `fingerprint`). */
  readonly resumeFrom?: Doc;
  /** Longest line accepted, in bytes; a longer one goes to the DLQ with its first bytes. Default 16 MiB. */
  readonly maxLineBytes?: number;
  readonly invalidUtf8?: InvalidUtf8Policy;
  /** Where "file replaced" is logged. Default: JSON lines on stderr. */
  readonly logger?: Logger;
}

/** The File connection's settings for its source: `config.maxLineBytes`, `config.invalidUtf8`. */
export function fileSourceSettings(
  config: Doc | undefined,
): Pick<FileSourceOptions, "maxLineBytes" | "invalidUtf8"> {
  const maxLineBytes = config?.maxLineBytes;
  return {
    ...(typeof maxLineBytes === "number" ? { maxLineBytes } : {}),
    ...(config?.invalidUtf8 === "replace" ? { invalidUtf8: "replace" as const } : {}),
  };
}

/**
 * A stream's reader outlives the source reading it: a source restarted after a failure (a sink that
 * failed) continues where the last one stopped instead of skipping lines the stream no longer has.
 */
const streamReaders = new WeakMap<NodeJS.ReadableStream, LineReader>();
/** How much of a stream read since the last checkpoint is kept for a restart to read again. */
const STREAM_RETAIN_BYTES = 256 * 1024 * 1024;
/**
 * Past this much kept since the last checkpoint, a stream source asks for a checkpoint (`checkpointDue`)
 * instead of waiting for the interval: what it keeps, and so the process's memory, stays about this size
 * whatever the input's rate (`sp process` reading stdin at hundreds of MB a second). An in-memory
 * checkpoint costs well under a millisecond, and with `--checkpoint-dir` 1,000,000 lines of 144 bytes
 * (about 140 checkpoints) took no measurable longer than with 8 MiB (docs/performance.md).
 */
export const STREAM_CHECKPOINT_BYTES = 1024 * 1024;

/**
 * JSON Lines from a file or a stream (stdin): one relaxed or canonical Extended JSON document per line.
 * Lines that are not acceptable documents (malformed, not UTF-8, longer than `maxLineBytes`) become error
 * records (the runtime dead-letters them). Finite: ends at end of file. Source type `file`.
 *
 * Resuming a file seeks to the checkpoint's byte offset, unless the file was replaced since (another inode,
 * fewer bytes, different first bytes): then the new file is read from its beginning, and that is logged.
 */
export class FileSource implements Source {
  readonly type = "file";
  readonly operatorName = "FileSourceOperator";
  readonly timestampIsReadTime = true;
  private readonly path: string | undefined;
  private readonly givenStream: NodeJS.ReadableStream | undefined;
  private readonly label: string;
  private readonly batchSize: number;
  private readonly clock: Clock;
  private readonly idlePollMs: number;
  private readonly maxLineBytes: number;
  private readonly invalidUtf8: InvalidUtf8Policy;
  private readonly resumeFrom: Doc | undefined;
  private readonly logger: Logger | undefined;
  private reader: LineReader | undefined;
  private identity: FileIdentity | undefined;
  /** Lines of a stream that a checkpoint covers but a fresh reader has not passed yet. */
  private skipUntilLine = 0;

  /** `path` is a file name, `"-"` for stdin, or an open readable stream. */
  constructor(path: string | NodeJS.ReadableStream, options: FileSourceOptions = {}) {
    if (typeof path === "string" && path !== "-") {
      this.path = path;
      this.label = path;
    } else {
      this.givenStream = path === "-" ? process.stdin : (path as NodeJS.ReadableStream);
      this.label = path === "-" || path === process.stdin ? "stdin" : "stream";
    }
    this.batchSize = options.batchSize ?? 1000;
    this.clock = options.clock ?? systemClock;
    this.idlePollMs = options.idlePollMs ?? 1000;
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.invalidUtf8 = options.invalidUtf8 ?? "dlq";
    this.resumeFrom = options.resumeFrom;
    this.logger = options.logger;
  }

  async start(): Promise<void> {
    const reader = this.path === undefined ? this.streamReader() : await this.fileReader(this.path);
    try {
      await reader.open();
    } catch (error) {
      // A missing file surfaces here as a processor error rather than an unhandled stream error later.
      throw new ConnectorError(`cannot read ${this.label}: ${(error as Error).message}`, {
        retryable: false,
      });
    }
    this.reader = reader;
  }

  async next(): Promise<SourceBatch | undefined> {
    const reader = this.reader;
    if (!reader) throw new Error("FileSource.next() called before start()");
    const records: SourceRecord[] = [];
    const now = this.clock.now();
    while (records.length < this.batchSize) {
      const line = reader.take();
      if (line) {
        if (reader.linesTaken <= this.skipUntilLine) continue;
        const record = this.toRecord(line, reader.linesTaken, now);
        if (record) records.push(record);
        continue;
      }
      if (reader.done) break;
      // With records in hand, only take a chunk that is already there: a quiet stream must not hold them back.
      const more = await reader.read(records.length === 0 ? this.idlePollMs : 0);
      if (more === "idle") {
        if (records.length === 0) return { records: [], idle: true };
        break;
      }
      if (!more && records.length > 0) break;
    }
    if (records.length === 0 && reader.done) return undefined;
    return { records };
  }

  positions(): Doc {
    const reader = this.reader;
    const line = reader?.linesTaken ?? 0;
    if (!this.identity || !reader) return { file: this.label, line };
    const { inode, fingerprint } = this.identity;
    return { file: this.label, line, offset: reader.bytesTaken, inode, fingerprint };
  }

  async close(): Promise<void> {
    const stream = this.reader?.stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
    if (stream && this.path !== undefined) stream.destroy?.();
  }

  checkpointDue(): boolean {
    return this.path === undefined && (this.reader?.retainedSize ?? 0) >= STREAM_CHECKPOINT_BYTES;
  }

  async acknowledge(positions: Doc): Promise<void> {
    const line = numberAt(positions, "line");
    if (this.path === undefined && line !== undefined) this.reader?.release(line);
  }

  /**
   * The stream's reader, shared with the sources that read the stream before: rewound to the checkpoint's
   * line when it still holds the lines read since (a restart in the same process), else skipping up to it
   * (a new process fed the same input again).
   */
  private streamReader(): LineReader {
    const stream = this.givenStream as NodeJS.ReadableStream;
    let reader = streamReaders.get(stream);
    if (!reader) {
      reader = new LineReader(stream, { maxLineBytes: this.maxLineBytes, retainBytes: STREAM_RETAIN_BYTES });
      streamReaders.set(stream, reader);
    }
    const line = numberAt(this.resumeFrom, "line") ?? 0;
    if (!reader.rewind(line)) this.skipUntilLine = line;
    return reader;
  }

  /** Opens the file at the checkpoint's offset, or from its beginning when it was replaced since. */
  private async fileReader(path: string): Promise<LineReader> {
    const resume = this.resumeFrom;
    let line = numberAt(resume, "line") ?? 0;
    let offset = numberAt(resume, "offset");
    const fingerprint = resume?.fingerprint;
    if (line > 0) {
      const replaced = await replacementReason(path, resume ?? {}).catch(() => undefined);
      if (replaced !== undefined) {
        (this.logger ?? jsonLogger()).warn(
          "file replaced since the checkpoint: reading it from the beginning",
          {
            file: path,
            reason: replaced,
            checkpointLine: line,
          },
        );
        line = 0;
        offset = undefined;
      }
    }
    const keepFingerprint = line > 0 && typeof fingerprint === "string";
    this.identity = await fileIdentity(
      path,
      keepFingerprint ? Number(fingerprint.split(":")[0]) : undefined,
    ).catch(() => undefined);
    if (offset === undefined) {
      // A checkpoint without an offset (an older one) is resumed by reading and skipping its lines.
      this.skipUntilLine = line;
      return new LineReader(createReadStream(path), { maxLineBytes: this.maxLineBytes });
    }
    return new LineReader(createReadStream(path, { start: offset }), {
      maxLineBytes: this.maxLineBytes,
      firstLine: line,
      firstByte: offset,
    });
  }

  private toRecord(line: SplitLine, lineNumber: number, now: number): SourceRecord | undefined {
    const meta = { file: this.label, line: lineNumber };
    if (line.oversized) {
      const { head, length } = line.oversized;
      const message = `line of ${length} bytes exceeds the maximum line length of ${this.maxLineBytes} bytes (config.maxLineBytes of the File connection); the record holds its first ${head.length} bytes`;
      return errorRecord(meta, now, length, message, head.toString("utf8"));
    }
    const bytes = line.bytes;
    if (bytes.length === 0 || (bytes[0] <= 32 && bytes.toString("latin1").trim().length === 0))
      return undefined;
    const text = bytes.toString("utf8");
    if (this.invalidUtf8 === "dlq" && !isUtf8(bytes)) {
      const message =
        'line is not valid UTF-8 (set config.invalidUtf8: "replace" on the File connection to read it with U+FFFD instead)';
      return errorRecord(meta, now, bytes.length, message, text);
    }
    const parsed = parseJsonLine(text);
    if (parsed.error !== undefined) return errorRecord(meta, now, bytes.length, parsed.error, text);
    return { doc: parsed.doc, partition: 0, timestamp: now, meta: undefined, size: bytes.length };
  }
}

function errorRecord(meta: Doc, now: number, size: number, message: string, raw: string): SourceRecord {
  return { doc: undefined, partition: 0, timestamp: now, meta, size, error: { message, raw } };
}

function numberAt(doc: Doc | undefined, key: string): number | undefined {
  const value = doc?.[key];
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

import { createWriteStream, type WriteStream } from "node:fs";
import { calculateObjectSize } from "bson";
import { stringifyExtendedJson } from "../codec/ejson.ts";
import type { Doc } from "../mql/index.ts";

/** Where dead-letter records go. The MongoDB-collection DLQ (`options.dlq`) implements this in its connector. */
export interface DlqWriter {
  write(records: readonly Doc[]): Promise<void>;
  close(): Promise<void>;
}

/** ASP replaces `doc` with this text when the document is larger than 8 MB. */
export const DOC_TOO_LARGE_TEXT = "full document too large to emit";
const MAX_DLQ_DOC_BYTES = 8 * 1024 * 1024;

/** `{_stream_meta, errInfo: {reason}, operatorName, doc, processorName, dlqTime}` in ASP's field order. */
export function operatorErrorRecord(args: {
  streamMeta: unknown;
  reason: string;
  operatorName: string;
  doc: unknown;
  processorName: string;
  now: number;
  /** Attempts a sink made before dead-lettering the document (an Eddy extension to the record). */
  attempts?: number;
}): Doc {
  const record: Doc = {};
  if (args.streamMeta !== undefined) record._stream_meta = args.streamMeta;
  record.errInfo = { reason: args.reason };
  record.operatorName = args.operatorName;
  if (args.doc !== undefined) record.doc = boundedDoc(args.doc);
  record.processorName = args.processorName;
  record.dlqTime = new Date(args.now);
  if (args.attempts !== undefined) record.attempts = args.attempts;
  return record;
}

/** The late-data record: `{doc, error, missedWindowStartTimes, processorName, dlqTime}` (no errInfo). */
export function lateRecord(
  doc: Doc,
  missedWindowStartTimes: readonly number[],
  processorName: string,
  now: number,
): Doc {
  return {
    doc: boundedDoc(doc),
    error: "Input document arrived late.",
    missedWindowStartTimes: [...missedWindowStartTimes],
    processorName,
    dlqTime: new Date(now),
  };
}

/** `Failed to process input document in <Op> with error: <message>`. */
export function operatorFailureReason(operatorName: string, message: string): string {
  return `Failed to process input document in ${operatorName} with error: ${message}`;
}

function boundedDoc(doc: unknown): unknown {
  if (typeof doc === "string") return doc.length > MAX_DLQ_DOC_BYTES ? DOC_TOO_LARGE_TEXT : doc;
  if (doc !== null && typeof doc === "object" && safeSize(doc as Doc) > MAX_DLQ_DOC_BYTES)
    return DOC_TOO_LARGE_TEXT;
  return doc;
}

/** BSON size of a document, or its JSON length when it holds something BSON cannot encode. */
export function safeSize(doc: Doc): number {
  try {
    return calculateObjectSize(doc);
  } catch {
    return JSON.stringify(doc)?.length ?? 0;
  }
}

/** One relaxed Extended JSON line per record, to a file (appending) or an already-open stream such as stderr. */
export class JsonLinesDlqWriter implements DlqWriter {
  private readonly stream: NodeJS.WritableStream;
  private readonly ownsStream: boolean;
  private readonly wrap: boolean;

  /** `wrap` prints each record as `{"_dlqMessage": …}` the way `sp.process` shows DLQ records inline. */
  constructor(target: string | NodeJS.WritableStream, options: { wrap?: boolean } = {}) {
    if (typeof target === "string") {
      this.stream = createWriteStream(target, { flags: "a" }) as WriteStream;
      this.ownsStream = true;
    } else {
      this.stream = target;
      this.ownsStream = false;
    }
    this.wrap = options.wrap ?? false;
  }

  async write(records: readonly Doc[]): Promise<void> {
    if (records.length === 0) return;
    let text = "";
    for (const record of records) {
      text += stringifyExtendedJson(this.wrap ? { _dlqMessage: record } : record) + "\n";
    }
    await writeWithBackPressure(this.stream, text);
  }

  async close(): Promise<void> {
    if (!this.ownsStream) return;
    await new Promise<void>((resolve) => this.stream.end(resolve));
  }
}

/** Writes text and waits for `drain` when the stream's buffer is full. */
export function writeWithBackPressure(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (stream.write(text)) return Promise.resolve();
  return new Promise((resolve) => stream.once("drain", () => resolve()));
}

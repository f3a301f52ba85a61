import { ByteBuffer } from "../../codec/byte-buffer.ts";
import { writeExtendedJson } from "../../codec/json-bytes.ts";
import type { Doc } from "../../mql/index.ts";
import type { Sink, SinkResult } from "../../runtime/index.ts";

const NEWLINE = 0x0a;
/** Room for a batch before anything was written: the next batch gets the size of the last one. */
const FIRST_BATCH_BYTES = 64 * 1024;

/**
 * Writes each document as one line of relaxed Extended JSON (the `sp process` output without a sink, and
 * the File connection's output); a `$numberLong` beyond 2^53 keeps every digit. A batch is encoded straight
 * into one buffer and written with one `write()` (no string per document); it waits for `drain` so a slow
 * consumer slows the processor down and the output never piles up in memory.
 */
export class JsonLinesSink implements Sink {
  readonly operatorName: string;
  private readonly stream: NodeJS.WritableStream;
  private readonly ownsStream: boolean;
  private sizeHint = FIRST_BATCH_BYTES;

  constructor(stream: NodeJS.WritableStream, options: { operatorName?: string; ownsStream?: boolean } = {}) {
    this.stream = stream;
    this.operatorName = options.operatorName ?? "FileSinkOperator";
    this.ownsStream = options.ownsStream ?? false;
  }

  async write(docs: readonly Doc[]): Promise<SinkResult> {
    // A fresh buffer per batch: the stream may hold on to the one written last until it is flushed.
    const out = new ByteBuffer(this.sizeHint);
    for (const doc of docs) {
      writeExtendedJson(out, doc);
      out.ensure(1);
      out.byte(NEWLINE);
    }
    const bytes = out.position;
    this.sizeHint = Math.max(1024, bytes + (bytes >> 3));
    if (!this.stream.write(out.view()))
      await new Promise<void>((resolve) => this.stream.once("drain", () => resolve()));
    return { bytes };
  }

  async close(): Promise<void> {
    if (this.ownsStream) await new Promise<void>((resolve) => this.stream.end(resolve));
  }
}

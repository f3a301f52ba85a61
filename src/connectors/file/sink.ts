import { stringifyExtendedJson } from "../../codec/ejson.ts";
import type { Doc } from "../../mql/index.ts";
import type { Sink, SinkResult } from "../../runtime/index.ts";

/**
 * Writes each document as one line of relaxed Extended JSON (the `sp process` output without a sink, and
 * the File connection's output); a `$numberLong` beyond 2^53 keeps every digit. Waits for `drain` so a slow consumer slows the processor down.
 */
export class JsonLinesSink implements Sink {
  readonly operatorName: string;
  private readonly stream: NodeJS.WritableStream;
  private readonly ownsStream: boolean;

  constructor(stream: NodeJS.WritableStream, options: { operatorName?: string; ownsStream?: boolean } = {}) {
    this.stream = stream;
    this.operatorName = options.operatorName ?? "FileSinkOperator";
    this.ownsStream = options.ownsStream ?? false;
  }

  async write(docs: readonly Doc[]): Promise<SinkResult> {
    let text = "";
    for (const doc of docs) text += stringifyExtendedJson(doc) + "\n";
    const bytes = Buffer.byteLength(text);
    if (!this.stream.write(text))
      await new Promise<void>((resolve) => this.stream.once("drain", () => resolve()));
    return { bytes };
  }

  async close(): Promise<void> {
    if (this.ownsStream) await new Promise<void>((resolve) => this.stream.end(resolve));
  }
}

/**
 * `$source: {connectionName: <OTLP connection>, signal: "traces" | "metrics" | "logs"}`: the records of
 * every accepted export request, in the order they were accepted, read from the receiver's spool. The
 * checkpoint position is the spool offset after the last request handed over; a restarted processor
 * continues there, so everything acknowledged to an exporter reaches the sink (replays are harmless:
 * every document carries a stable `_id`).
 */
import type { Doc } from "../../mql/index.ts";
import type { Source, SourceBatch, SourceRecord } from "../../runtime/source.ts";
import type { OtlpConfig } from "./config.ts";
import { decodeRequest } from "./decode.ts";
import { acquireReceiver, type ReceiverLease } from "./receivers.ts";
import type { Signal } from "./signals.ts";
import type { SpoolFrame } from "./spool.ts";

/**
 * How much spool one `next()` reads at most: about 1,700 spans of 155 bytes. Larger batches cost more
 * CPU per span when a backlog is drained (more documents live at once: more of them survive into the
 * old generation): 24–28 µs of CPU per span at 4 MiB, 21 µs at 256 KiB (bench/otlp.ts into the null MongoDB).
 */
const BATCH_BYTES = 256 << 10;
/** How long `next()` waits for a request before reporting idle. */
const IDLE_WAIT_MS = 500;

export interface OtlpSourceOptions {
  /** Who reads (processor name): the spool keeps what this reader has not acknowledged. */
  readonly readerId: string;
  /** A checkpoint's `offset` to continue from; by default the oldest request the spool still holds. */
  readonly offset?: number;
  /** How long the receiver stays up after its last reader closed (default 60 s). */
  readonly lingerMs?: number;
}

export class OtlpSource implements Source {
  readonly type = "otlp";
  readonly operatorName = "OTLPSourceOperator";
  private lease: ReceiverLease | undefined;
  private offset = 0;
  private readonly connectionName: string;
  private readonly config: OtlpConfig;
  private readonly signal: Signal;
  private readonly options: OtlpSourceOptions;

  constructor(connectionName: string, config: OtlpConfig, signal: Signal, options: OtlpSourceOptions) {
    this.connectionName = connectionName;
    this.config = config;
    this.signal = signal;
    this.options = options;
  }

  /** The receiver, once started (tests and `sp serve` read its port). */
  get receiver() {
    return this.lease?.receiver;
  }

  async start(): Promise<void> {
    this.lease = await acquireReceiver(this.connectionName, this.config, { lingerMs: this.options.lingerMs });
    const spool = this.lease.receiver.spool(this.signal);
    this.offset = Math.max(this.options.offset ?? 0, spool.startOffset);
    spool.attach(this.readerId, this.offset);
  }

  async next(): Promise<SourceBatch> {
    const receiver = this.lease!.receiver;
    const spool = receiver.spool(this.signal);
    let frames = await spool.read(this.offset, BATCH_BYTES);
    if (frames.length === 0) {
      await receiver.waitForAppend(this.signal, IDLE_WAIT_MS);
      frames = await spool.read(this.offset, BATCH_BYTES);
      if (frames.length === 0) return { records: [], idle: true };
    }
    const records: SourceRecord[] = [];
    for (const frame of frames) this.toRecords(frame, records);
    this.offset = frames.at(-1)!.end;
    return { records };
  }

  positions(): Doc {
    return { offset: this.offset };
  }

  async acknowledge(positions: Doc): Promise<void> {
    if (typeof positions.offset === "number")
      await this.lease?.receiver.spool(this.signal).acknowledge(this.readerId, positions.offset);
  }

  async close(): Promise<void> {
    this.lease?.release();
    this.lease = undefined;
  }

  private get readerId(): string {
    return `${this.options.readerId}/${this.signal}`;
  }

  private toRecords(frame: SpoolFrame, out: SourceRecord[]): void {
    const hot = this.lease!.receiver.takeHot(this.signal, frame.offset);
    let mapped = hot;
    if (!mapped) {
      try {
        mapped = decodeRequest(this.signal, frame.encoding, frame.body, frame.receivedAt).records;
      } catch (error) {
        // Accepted requests were decoded once already; this only happens if the spool file was damaged.
        out.push({
          doc: undefined,
          partition: 0,
          timestamp: frame.receivedAt,
          meta: this.meta(frame.requestId),
          size: frame.end - frame.offset,
          error: {
            message: (error as Error).message,
            raw: { requestId: frame.requestId, offset: frame.offset },
          },
        });
        return;
      }
    }
    const size = Math.ceil((frame.end - frame.offset) / Math.max(1, mapped.length));
    for (const record of mapped)
      out.push({
        doc: record.doc,
        partition: 0,
        timestamp: record.timestamp,
        meta: this.meta(frame.requestId),
        size,
      });
  }

  private meta(requestId: string): Doc {
    return { type: this.type, connectionName: this.connectionName, signal: this.signal, requestId };
  }
}

import type { ObjectId } from "bson";
import type { Doc } from "../mql/index.ts";

/** Where the processor's output goes: `$merge`/`$emit` connectors, or stdout for an ephemeral processor. */
export interface Sink {
  /** ASP operator class name, e.g. `MergeOperator`. */
  readonly operatorName: string;
  /** Writes one batch, in order. Per-document failures are returned (they go to the DLQ), not thrown. */
  write(docs: readonly Doc[], context?: SinkWriteContext): Promise<SinkResult>;
  /**
   * Makes everything `write` accepted durable. Sinks that buffer implement it; the runtime calls it at
   * every checkpoint barrier, before the checkpoint is saved and before any source position is acknowledged.
   */
  flush?(): Promise<void>;
  /**
   * Optional: the per-document work of a batch (encoding…) ahead of its `write`, which follows with the same
   * `docs` array, or with several prepared arrays written together (`SinkWriteContext.parts`). The runtime
   * calls it while the previous write is still in flight.
   */
  prepare?(docs: readonly Doc[]): void;
  /**
   * Exactly-once sinks only (Kafka `$emit` with `config.exactlyOnce`): makes everything written since the
   * last commit visible at once, atomically with `marker`, which the checkpoint saved just before carries.
   * Output the sink accepted but never committed is discarded when the processor restarts.
   */
  readonly commit?: (marker: number, positions?: Doc) => Promise<void>;
  /**
   * Optional, for sinks that commit (`commit`): true when the sink wants a checkpoint before the interval
   * is up (PostgreSQL `$emit` holding `batchSize` rows). The runtime asks after every batch.
   */
  commitDue?(): boolean;
  close(): Promise<void>;
}

/** What the runtime knows about a batch beyond the documents. */
export interface SinkWriteContext {
  /**
   * A deterministic `_id` for `docs[index]`: the same when a replay after a crash produces the document
   * again. Sinks that must invent an `_id` (`$merge` on `_id`) use it so that replays overwrite, not duplicate.
   */
  idFor(index: number): ObjectId;
  /**
   * Set when `docs` is the output of several batches written together: the arrays `prepare` was called
   * with, in order, whose concatenation `docs` is. A sink may reuse what it prepared for each.
   */
  readonly parts?: readonly (readonly Doc[])[];
}

export interface SinkResult {
  /** Bytes written (counted in `outputMessageSize`). */
  readonly bytes: number;
  readonly failures?: readonly SinkFailure[];
}

/** A document the sink could not write: it goes to the DLQ. */
export interface SinkFailure {
  readonly index: number;
  readonly message: string;
  /** Attempts made before giving up, when the sink retried the document (recorded in the DLQ record). */
  readonly attempts?: number;
}

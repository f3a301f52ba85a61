import type { Doc } from "../mql/index.ts";

/** Where the processor's output goes: `$merge`/`$emit` connectors, or stdout for an ephemeral processor. */
export interface Sink {
  /** ASP operator class name, e.g. `MergeOperator`. */
  readonly operatorName: string;
  /** Writes one batch, in order. Per-document failures are returned (they go to the DLQ), not thrown. */
  write(docs: readonly Doc[]): Promise<SinkResult>;
  close(): Promise<void>;
}

export interface SinkResult {
  /** Bytes written (counted in `outputMessageSize`). */
  readonly bytes: number;
  readonly failures?: readonly { readonly index: number; readonly message: string }[];
}

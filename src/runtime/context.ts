import { MqlRuntimeError, type Doc } from "../mql/index.ts";
import { operatorErrorRecord, operatorFailureReason, safeSize } from "./dlq.ts";
import type { OperatorStats } from "./stats.ts";
import type { Clock, Item } from "./types.ts";

/** What operators need from the running processor. */
export interface RunContext {
  readonly processorName: string;
  readonly clock: Clock;
  /** Queues a dead-letter record (written after the batch) and counts it against `operator`. */
  deadLetter(record: Doc, operator: OperatorStats): void;
}

/** True for errors that concern one document (they go to the DLQ); anything else is a bug and fails the processor. */
export function isDocumentError(error: unknown): error is MqlRuntimeError {
  return error instanceof MqlRuntimeError;
}

/** Dead-letters `item` after `error` in `operatorName`, or rethrows when the error is not a per-document one. */
export function failDocument(ctx: RunContext, operator: OperatorStats, item: Item, error: unknown): void {
  if (!isDocumentError(error)) throw error;
  deadLetterDocument(ctx, operator, item.doc, operatorFailureReason(operator.name, error.message));
}

export function deadLetterDocument(ctx: RunContext, operator: OperatorStats, doc: Doc, reason: string): void {
  ctx.deadLetter(
    operatorErrorRecord({
      streamMeta: doc._stream_meta,
      reason,
      operatorName: operator.name,
      doc,
      processorName: ctx.processorName,
      now: ctx.clock.now(),
    }),
    operator,
  );
}

/** Bytes of a document for stats. */
export function docSize(doc: Doc): number {
  return safeSize(doc);
}

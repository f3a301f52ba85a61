/**
 * Per-document retries for sinks: a document the target refused on its own (a duplicate key racing another
 * writer, a record the broker rejected, a topic it could not write) is written again alone, with back-off,
 * up to `maxRetries` attempts in all; one still refused then goes to the DLQ with its `attempts`. Errors
 * that concern the whole connection are thrown as they are, for the sink's own connection retries and the
 * supervisor: one unreachable server must not dead-letter every document.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { SinkFailure } from "../runtime/sink.ts";

export interface DocumentRetryPolicy {
  /** Attempts per document in all, the first (the batch's) included (connection setting `maxRetries`, default 3). */
  readonly maxRetries?: number;
  /** Delay before the second attempt; doubles each time (connection setting `retryDelayMs`, default 200 ms). */
  readonly retryDelayMs?: number;
}

export const DEFAULT_DOCUMENT_RETRIES: Required<DocumentRetryPolicy> = { maxRetries: 3, retryDelayMs: 200 };

/** A document whose first attempt failed: its index in the batch and the error of that attempt. */
export interface FailedDocument<T> {
  readonly index: number;
  readonly item: T;
  readonly error: unknown;
}

/**
 * Writes the `failed` documents again, one `writeOne` each (all of one round concurrently), until they
 * succeed or used their attempts. An error `isDocumentError` rejects is rethrown at once.
 */
export async function retryDocuments<T>(
  failed: readonly FailedDocument<T>[],
  writeOne: (item: T) => Promise<void>,
  isDocumentError: (error: unknown) => boolean,
  describe: (error: unknown, item: T) => string,
  policy: DocumentRetryPolicy = {},
): Promise<SinkFailure[]> {
  const { maxRetries, retryDelayMs } = { ...DEFAULT_DOCUMENT_RETRIES, ...policy };
  const attempts = Math.max(1, maxRetries);
  let remaining = [...failed];
  for (let attempt = 2; attempt <= attempts && remaining.length > 0; attempt++) {
    await sleep(retryDelayMs * 2 ** (attempt - 2));
    const outcomes = await Promise.allSettled(remaining.map(({ item }) => writeOne(item)));
    const still: FailedDocument<T>[] = [];
    outcomes.forEach((outcome, i) => {
      if (outcome.status === "fulfilled") return;
      if (!isDocumentError(outcome.reason)) throw outcome.reason;
      still.push({ ...remaining[i], error: outcome.reason });
    });
    remaining = still;
  }
  return remaining.map(({ index, item, error }) => ({ index, message: describe(error, item), attempts }));
}

/** The connection settings behind {@link documentRetryPolicy}, for connection specs' schemas. */
export const DOCUMENT_RETRY_SETTINGS = {
  maxRetries: {
    type: "integer",
    minimum: 1,
    description: "Attempts per document the target refuses before it goes to the DLQ (default 3).",
  },
  retryDelayMs: {
    type: "integer",
    minimum: 0,
    description: "Delay before a document's second attempt, doubling after (default 200).",
  },
} as const;

/** The retry settings of a connection (`maxRetries`, `retryDelayMs`), where it sets them. */
export function documentRetryPolicy(settings: Readonly<Record<string, unknown>>): DocumentRetryPolicy {
  const { maxRetries, retryDelayMs } = settings;
  return {
    ...(typeof maxRetries === "number" ? { maxRetries } : {}),
    ...(typeof retryDelayMs === "number" ? { retryDelayMs } : {}),
  };
}

/**
 * In-connector retries for transient failures (a broker or server restarting, a dropped connection), so a
 * short blip never reaches the supervisor. Longer outages end in the last error, which the connector turns
 * into a {@link ConnectorError} for the supervisor to handle (restart from the checkpoint, or fail).
 */
import { setTimeout as sleep } from "node:timers/promises";

export interface RetryPolicy {
  /** Attempts in all, the first included (default 6). */
  readonly attempts?: number;
  /** Delay before the second attempt; doubles each time (default 200 ms). */
  readonly initialDelayMs?: number;
  /** Upper bound of one delay (default 5 s). */
  readonly maxDelayMs?: number;
}

/** 6 attempts over about 11 s: 0.2 + 0.4 + 0.8 + 1.6 + 3.2 + 5 s of waiting between them. */
export const DEFAULT_RETRY_POLICY: Required<RetryPolicy> = {
  attempts: 6,
  initialDelayMs: 200,
  maxDelayMs: 5_000,
};

/** The wait before attempt `attempt + 1` (0-based `attempt` = failures so far minus one). */
export function retryDelay(attempt: number, policy: RetryPolicy = {}): number {
  const { initialDelayMs, maxDelayMs } = { ...DEFAULT_RETRY_POLICY, ...policy };
  return Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt, 20));
}

/**
 * Runs `task` until it succeeds, retrying only errors `isTransient` accepts, with exponential back-off.
 * A non-transient error is rethrown at once, unchanged; the last transient one after the final attempt too.
 */
export async function withRetries<T>(
  task: (attempt: number) => Promise<T>,
  isTransient: (error: unknown) => boolean,
  policy: RetryPolicy & {
    readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  } = {},
): Promise<T> {
  const attempts = Math.max(1, policy.attempts ?? DEFAULT_RETRY_POLICY.attempts);
  let previous: unknown;
  for (let attempt = 0; ; attempt++) {
    try {
      return await task(attempt);
    } catch (error) {
      // A retry can fail for a reason the first failure caused (a MongoDB client whose first connect timed
      // out is closed: "Topology is closed"); keep the first failure as the cause, which says what went wrong.
      if (
        previous !== undefined &&
        error instanceof Error &&
        error.cause === undefined &&
        error !== previous
      ) {
        Object.defineProperty(error, "cause", { value: previous, configurable: true });
      }
      previous ??= error;
      if (attempt + 1 >= attempts || !isTransient(error)) throw error;
      const delay = retryDelay(attempt, policy);
      policy.onRetry?.(error, attempt + 1, delay);
      await sleep(delay);
    }
  }
}

/** Every error reachable from `error` through `cause`, `errors` (AggregateError) and `errorResponse`, depth first. */
export function* errorChain(error: unknown, depth = 0): Generator<unknown> {
  if (error === null || error === undefined || depth > 8) return;
  yield error;
  if (typeof error !== "object") return;
  const { cause, errors, errorResponse } = error as {
    cause?: unknown;
    errors?: unknown;
    errorResponse?: unknown;
  };
  if (Array.isArray(errors)) for (const inner of errors) yield* errorChain(inner, depth + 1);
  if (cause !== undefined) yield* errorChain(cause, depth + 1);
  // The MongoDB driver wraps a connection error during a bulk write in a MongoBulkWriteError whose
  // `errorResponse` is the original error.
  if (errorResponse instanceof Error && errorResponse !== error) yield* errorChain(errorResponse, depth + 1);
}

/** The message of `error`, or its text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

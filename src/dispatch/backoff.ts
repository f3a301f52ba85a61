/**
 * When to try a failed delivery again: exponential back-off with jitter, a cap, a maximum number of
 * attempts, and a receiver's `Retry-After` honoured (docs/event-dispatch.md, "Retries").
 */

export interface RetryPolicy {
  /** Attempts in all, the first included; the job is FAILED after the last. Default 8. */
  readonly maxAttempts: number;
  /** Delay after the first failed attempt. Default 5 s. */
  readonly initialDelayMs: number;
  /** Each further delay is the previous one times this. Default 4. */
  readonly multiplier: number;
  /** Cap on one delay (and on a Retry-After). Default 6 h. */
  readonly maxDelayMs: number;
  /** Fraction of the delay drawn at random on either side (0.2: ±20 %). Default 0.2. */
  readonly jitter: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  initialDelayMs: 5_000,
  multiplier: 4,
  maxDelayMs: 6 * 60 * 60 * 1000,
  jitter: 0.2,
};

/** The delay before attempt `attempts + 1`, after `attempts` failed ones (≥ 1). */
export function backoffDelayMs(
  policy: RetryPolicy,
  attempts: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(
    policy.maxDelayMs,
    policy.initialDelayMs * policy.multiplier ** Math.max(0, attempts - 1),
  );
  const spread = base * policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(Math.min(policy.maxDelayMs, base + spread)));
}

/**
 * A `Retry-After` header (delay-seconds or an HTTP-date) as milliseconds from `now`; undefined when absent
 * or unreadable.
 */
export function retryAfterMs(header: string | undefined, now: number = Date.now()): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The next attempt's delay: the receiver's Retry-After when it gave one (capped), else the back-off. */
export function nextDelayMs(
  policy: RetryPolicy,
  attempts: number,
  retryAfter: number | undefined,
  random?: () => number,
): number {
  if (retryAfter !== undefined) return Math.min(policy.maxDelayMs, retryAfter);
  return backoffDelayMs(policy, attempts, random);
}

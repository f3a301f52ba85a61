/**
 * One circuit breaker per target (the webhook URL's origin): CLOSED lets deliveries through; after
 * `failureThreshold` consecutive failures it OPENs and refuses them for `coolDownMs`; then HALF_OPEN lets
 * one probe through — success closes it, failure opens it again for another cool-down.
 */

export type BreakerState = "CLOSED" | "OPEN" | "HALF_OPEN";

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. Default 5. */
  readonly failureThreshold: number;
  /** How long an open breaker refuses deliveries before a probe. Default 30 s. */
  readonly coolDownMs: number;
}

export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = { failureThreshold: 5, coolDownMs: 30_000 };

interface Breaker {
  state: BreakerState;
  failures: number;
  openedAt: number;
  probing: boolean;
}

export type Admission = { readonly allowed: true } | { readonly allowed: false; readonly retryAt: number };

export class CircuitBreakers {
  private readonly breakers = new Map<string, Breaker>();

  private readonly options: BreakerOptions;
  private readonly now: () => number;
  private readonly onChange: ((target: string, state: BreakerState) => void) | undefined;

  constructor(
    options: BreakerOptions = DEFAULT_BREAKER_OPTIONS,
    now: () => number = Date.now,
    onChange?: (target: string, state: BreakerState) => void,
  ) {
    this.options = options;
    this.now = now;
    this.onChange = onChange;
  }

  /** Whether a delivery to `target` may go now; when it may not, when to try again. */
  admit(target: string): Admission {
    const breaker = this.breakers.get(target);
    if (!breaker || breaker.state === "CLOSED") return { allowed: true };
    const reopensAt = breaker.openedAt + this.options.coolDownMs;
    if (breaker.state === "OPEN") {
      if (this.now() < reopensAt) return { allowed: false, retryAt: reopensAt };
      this.set(target, breaker, "HALF_OPEN");
    }
    if (breaker.probing)
      return { allowed: false, retryAt: this.now() + Math.min(1000, this.options.coolDownMs) };
    breaker.probing = true;
    return { allowed: true };
  }

  succeeded(target: string): void {
    const breaker = this.breakers.get(target);
    if (!breaker) return;
    breaker.failures = 0;
    breaker.probing = false;
    if (breaker.state !== "CLOSED") this.set(target, breaker, "CLOSED");
  }

  failed(target: string): void {
    let breaker = this.breakers.get(target);
    if (!breaker)
      this.breakers.set(target, (breaker = { state: "CLOSED", failures: 0, openedAt: 0, probing: false }));
    breaker.failures++;
    breaker.probing = false;
    if (breaker.state === "HALF_OPEN" || breaker.failures >= this.options.failureThreshold) {
      breaker.openedAt = this.now();
      if (breaker.state !== "OPEN") this.set(target, breaker, "OPEN");
    }
  }

  state(target: string): BreakerState {
    return this.breakers.get(target)?.state ?? "CLOSED";
  }

  /** Targets whose breaker is not CLOSED. */
  open(): Array<{ target: string; state: BreakerState }> {
    return [...this.breakers]
      .filter(([, b]) => b.state !== "CLOSED")
      .map(([target, b]) => ({ target, state: b.state }));
  }

  private set(target: string, breaker: Breaker, state: BreakerState): void {
    breaker.state = state;
    this.onChange?.(target, state);
  }
}

/** The breaker key of a webhook URL: its origin, so all paths of one endpoint share a breaker. */
export function breakerTarget(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

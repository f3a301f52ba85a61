/**
 * Health of the dispatch service: the events change stream's connection and lag, and the error rate over
 * the last minute (matcher errors per event, failed attempts per attempt), sampled every 10 s.
 */
import type { Metrics } from "./metrics.ts";

export interface DispatchHealth {
  readonly status: "ok" | "degraded";
  readonly matcher: {
    readonly role: "leader" | "standby" | "disabled" | "stopped";
    readonly changeStreamConnected: boolean;
    readonly lagSeconds: number | null;
    readonly subscriptions: number;
    readonly error?: string;
  };
  readonly dispatcher: {
    readonly running: boolean;
    readonly inFlight: number;
    readonly openBreakers: readonly string[];
  };
  /** Errors over work in the last minute: matcher errors per event, failed or retried attempts per attempt. */
  readonly errorRate: { readonly matcher: number; readonly delivery: number };
}

interface Sample {
  readonly events: number;
  readonly matcherErrors: number;
  readonly attempts: number;
  readonly failures: number;
}

const WINDOW = 6;

export class ErrorRates {
  private readonly samples: Sample[] = [];
  private readonly metrics: Metrics;
  private readonly timer: NodeJS.Timeout;

  constructor(metrics: Metrics, intervalMs = 10_000) {
    this.metrics = metrics;
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  rates(): DispatchHealth["errorRate"] {
    const now = this.current();
    const then = this.samples[0] ?? now;
    const ratio = (errors: number, work: number): number => (work <= 0 ? 0 : Math.min(1, errors / work));
    return {
      matcher: ratio(
        now.matcherErrors - then.matcherErrors,
        now.events - then.events + now.matcherErrors - then.matcherErrors,
      ),
      delivery: ratio(now.failures - then.failures, now.attempts - then.attempts),
    };
  }

  close(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    this.samples.push(this.current());
    if (this.samples.length > WINDOW) this.samples.shift();
  }

  private current(): Sample {
    const m = this.metrics;
    return {
      events: m.total("fc_stream_events_processed_total"),
      matcherErrors: m.total("fc_stream_errors_total"),
      attempts: m.total("fc_dispatch_attempts_total"),
      failures:
        m.value("fc_dispatch_outcomes_total", { outcome: "retry" }) +
        m.value("fc_dispatch_outcomes_total", { outcome: "failed" }),
    };
  }
}

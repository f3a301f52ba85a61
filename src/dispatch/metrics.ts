/**
 * Event-dispatch metrics under the original FlowCatalyst names (`fc_stream_*`) plus delivery metrics
 * (`fc_dispatch_*`), kept in memory and rendered in the Prometheus text format.
 */

type Labels = Readonly<Record<string, string>>;

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Family {
  readonly type: "counter" | "gauge" | "histogram";
  readonly help: string;
  readonly values: Map<string, number>;
  readonly histograms: Map<string, { buckets: number[]; sum: number; count: number }>;
}

export class Metrics {
  private readonly families = new Map<string, Family>();

  inc(name: string, by = 1, labels: Labels = {}): void {
    const values = this.family(name).values;
    const key = labelKey(labels);
    values.set(key, (values.get(key) ?? 0) + by);
  }

  set(name: string, value: number, labels: Labels = {}): void {
    this.family(name).values.set(labelKey(labels), value);
  }

  observe(name: string, seconds: number, labels: Labels = {}): void {
    const family = this.family(name);
    const key = labelKey(labels);
    let h = family.histograms.get(key);
    if (!h) family.histograms.set(key, (h = { buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < DURATION_BUCKETS.length; i++) if (seconds <= DURATION_BUCKETS[i]) h.buckets[i]++;
    h.sum += seconds;
    h.count++;
  }

  /** A counter's or gauge's current value (tests, health). */
  value(name: string, labels: Labels = {}): number {
    return this.families.get(name)?.values.get(labelKey(labels)) ?? 0;
  }

  /** Sum of a counter over all its label sets. */
  total(name: string): number {
    let sum = 0;
    for (const v of this.families.get(name)?.values.values() ?? []) sum += v;
    return sum;
  }

  render(): string {
    const out: string[] = [];
    for (const [name, f] of this.families) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      for (const [key, v] of f.values) out.push(`${name}${key} ${v}`);
      for (const [key, h] of f.histograms) {
        DURATION_BUCKETS.forEach((le, i) =>
          out.push(`${name}_bucket${withLe(key, String(le))} ${h.buckets[i]}`),
        );
        out.push(
          `${name}_bucket${withLe(key, "+Inf")} ${h.count}`,
          `${name}_sum${key} ${h.sum}`,
          `${name}_count${key} ${h.count}`,
        );
      }
    }
    return out.join("\n") + "\n";
  }

  private family(name: string): Family {
    const family = this.families.get(name);
    if (family) return family;
    const spec = METRIC_SPECS[name];
    if (!spec) throw new Error(`unknown metric ${name}: declare it in METRIC_SPECS`);
    const created: Family = { ...spec, values: new Map(), histograms: new Map() };
    this.families.set(name, created);
    return created;
  }
}

/** Every metric, declared once: its type and help text. */
export const METRIC_SPECS: Readonly<Record<string, { type: Family["type"]; help: string }>> = {
  fc_stream_events_processed_total: {
    type: "counter",
    help: "Events read from the events change stream and matched.",
  },
  fc_stream_dispatch_jobs_created_total: {
    type: "counter",
    help: "Dispatch jobs created (replays that found the job already there are not counted).",
  },
  fc_stream_processing_duration_seconds: {
    type: "histogram",
    help: "Time to match one batch of events and write its jobs, read models and resume token.",
  },
  fc_stream_change_stream_lag_seconds: {
    type: "gauge",
    help: "Wall clock minus the cluster time of the last event processed.",
  },
  fc_stream_subscriptions_matched_total: {
    type: "counter",
    help: "Subscription matches (one per event and matching subscription).",
  },
  fc_stream_subscriptions_active: {
    type: "gauge",
    help: "Active subscriptions held in memory by the matcher.",
  },
  fc_stream_errors_total: {
    type: "counter",
    help: "Batches or events the matcher could not process (labelled by kind).",
  },
  fc_stream_resume_token_resets_total: {
    type: "counter",
    help: "Times the saved resume token was invalid or expired and the stream restarted from now.",
  },
  fc_stream_dlq_events_total: {
    type: "counter",
    help: "Dead letters written to dispatch_dlq: events with a malformed type or client_id, and subscription filters that failed on an event.",
  },
  fc_stream_skipped_events_total: {
    type: "counter",
    help: "Events left unprocessed by a resume-token reset (counted where they can be: ObjectId event ids).",
  },
  fc_stream_change_stream_connected: {
    type: "gauge",
    help: "1 while the events change stream is open, else 0.",
  },
  fc_dispatch_attempts_total: { type: "counter", help: "Webhook delivery attempts, by pool." },
  fc_dispatch_outcomes_total: {
    type: "counter",
    help: "Attempt outcomes: delivered, retry, failed, breaker_open.",
  },
  fc_dispatch_delivery_duration_seconds: {
    type: "histogram",
    help: "Time of one webhook POST, request to response.",
  },
  fc_dispatch_breakers_open: { type: "gauge", help: "Targets whose circuit breaker is open or half-open." },
  fc_dispatch_in_flight: { type: "gauge", help: "Deliveries in flight, by pool." },
  fc_dispatch_queued: {
    type: "gauge",
    help: "Jobs claimed by this dispatcher (or handed over by the matcher) waiting for a delivery slot.",
  },
};

function labelKey(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`;
}

function withLe(key: string, le: string): string {
  return key === "" ? `{le="${le}"}` : `${key.slice(0, -1)},le="${le}"}`;
}

/**
 * The receivers' Prometheus metrics, for `/metrics` of `sp serve` (the same text exposition format as the
 * processor metrics). Counters live per connection name for the life of the process, so a receiver closed
 * and started again (its last reader stopped and came back) keeps counting up: every series is monotonic.
 * Spool gauges are read from the receivers running at scrape time.
 */
import type { Signal } from "./signals.ts";

/** Acknowledgement latency buckets, seconds (the spool's fsync dominates: sub-millisecond to seconds). */
export const ACK_LATENCY_BOUNDS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/** Why items were not kept: invalid items left out of a 200 (`partial_success`), or a refused request. */
export type RejectReason = "invalid" | "refused";

interface Histogram {
  readonly buckets: number[];
  sum: number;
  count: number;
}

/** One connection's counters. `signal` is `""` for requests to no signal's path (404, /health). */
export class ReceiverMetrics {
  readonly requests = new Map<string, number>();
  readonly acceptedItems = new Map<Signal, number>();
  readonly rejectedItems = new Map<string, number>();
  readonly receivedBytes = new Map<Signal, number>();
  readonly ackLatency = new Map<Signal, Histogram>();

  request(signal: Signal | "", status: number): void {
    increment(this.requests, `${signal}\u0000${status}`, 1);
  }

  accepted(signal: Signal, items: number, bytes: number, latencySeconds: number): void {
    increment(this.acceptedItems, signal, items);
    increment(this.receivedBytes, signal, bytes);
    let histogram = this.ackLatency.get(signal);
    if (!histogram) {
      histogram = { buckets: ACK_LATENCY_BOUNDS_SECONDS.map(() => 0), sum: 0, count: 0 };
      this.ackLatency.set(signal, histogram);
    }
    const bucket = ACK_LATENCY_BOUNDS_SECONDS.findIndex((bound) => latencySeconds <= bound);
    for (let i = bucket === -1 ? histogram.buckets.length : bucket; i < histogram.buckets.length; i++)
      histogram.buckets[i]!++;
    histogram.sum += latencySeconds;
    histogram.count++;
  }

  rejected(signal: Signal, reason: RejectReason, items: number): void {
    if (items > 0) increment(this.rejectedItems, `${signal}\u0000${reason}`, items);
  }
}

const registry = new Map<string, ReceiverMetrics>();

/** The counters of connection `name` (created on first use, kept for the process). */
export function receiverMetrics(name: string): ReceiverMetrics {
  let metrics = registry.get(name);
  if (!metrics) registry.set(name, (metrics = new ReceiverMetrics()));
  return metrics;
}

/** A running receiver's spool state per signal, at scrape time. */
export interface SpoolGauge {
  readonly connection: string;
  readonly signal: Signal;
  readonly backlogBytes: number;
  /** Seconds since the oldest request some reader has not acknowledged was received (0 when none). */
  readonly lagSeconds: number;
}

const runningSpools = new Set<() => Promise<SpoolGauge[]>>();

/** A running receiver offers its spool gauges to scrapes; call the result when it closes. */
export function offerSpoolGauges(read: () => Promise<SpoolGauge[]>): () => void {
  runningSpools.add(read);
  return () => runningSpools.delete(read);
}

/** `/metrics` text of every OTLP connection of this process (empty families when there is none). */
export async function otlpMetricsText(): Promise<string> {
  const gauges: SpoolGauge[] = [];
  for (const read of runningSpools) gauges.push(...(await read().catch(() => [])));
  return renderOtlpMetrics(gauges);
}

/** The `eddy_otlp_*` families; `spools` are the running receivers' gauges. */
export function renderOtlpMetrics(spools: readonly SpoolGauge[]): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string, lines: string[]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  };
  const each = <V>(
    pick: (m: ReceiverMetrics) => Map<string, V>,
    line: (c: string, k: string, v: V) => string,
  ) =>
    [...registry].flatMap(([connection, metrics]) =>
      [...pick(metrics)].map(([key, value]) => line(connection, key, value)),
    );

  family(
    "eddy_otlp_requests_total",
    "counter",
    "OTLP/HTTP requests answered, by signal and HTTP status.",
    each(
      (m) => m.requests,
      (connection, key, value) => {
        const [signal, status] = key.split("\u0000");
        return `eddy_otlp_requests_total${labels({ connection, signal: signal!, status: status! })} ${value}`;
      },
    ),
  );
  family(
    "eddy_otlp_accepted_items_total",
    "counter",
    "Spans, log records and metric data points acknowledged (durable in the spool).",
    each(
      (m) => m.acceptedItems,
      (connection, signal, value) =>
        `eddy_otlp_accepted_items_total${labels({ connection, signal })} ${value}`,
    ),
  );
  family(
    "eddy_otlp_rejected_items_total",
    "counter",
    "Items not kept: reason=invalid (left out of a 200 with partial_success) or refused (in a decoded request answered 4xx/5xx).",
    each(
      (m) => m.rejectedItems,
      (connection, key, value) => {
        const [signal, reason] = key.split("\u0000");
        return `eddy_otlp_rejected_items_total${labels({ connection, signal: signal!, reason: reason! })} ${value}`;
      },
    ),
  );
  family(
    "eddy_otlp_received_bytes_total",
    "counter",
    "Bytes of acknowledged request bodies (decompressed).",
    each(
      (m) => m.receivedBytes,
      (connection, signal, value) =>
        `eddy_otlp_received_bytes_total${labels({ connection, signal })} ${value}`,
    ),
  );
  family(
    "eddy_otlp_ack_latency_seconds",
    "histogram",
    "Time from a request's arrival to its 200, the spool's fsync included.",
    each(
      (m) => m.ackLatency,
      (connection, signal, h) =>
        [
          ...ACK_LATENCY_BOUNDS_SECONDS.map(
            (le, i) =>
              `eddy_otlp_ack_latency_seconds_bucket${labels({ connection, signal, le: String(le) })} ${h.buckets[i]}`,
          ),
          `eddy_otlp_ack_latency_seconds_bucket${labels({ connection, signal, le: "+Inf" })} ${h.count}`,
          `eddy_otlp_ack_latency_seconds_sum${labels({ connection, signal })} ${h.sum}`,
          `eddy_otlp_ack_latency_seconds_count${labels({ connection, signal })} ${h.count}`,
        ].join("\n"),
    ),
  );
  family(
    "eddy_otlp_spool_backlog_bytes",
    "gauge",
    "Spool bytes some processor reading the signal has not acknowledged yet.",
    spools.map(
      (s) =>
        `eddy_otlp_spool_backlog_bytes${labels({ connection: s.connection, signal: s.signal })} ${s.backlogBytes}`,
    ),
  );
  family(
    "eddy_otlp_spool_lag_seconds",
    "gauge",
    "Age of the oldest request in the spool that some processor has not acknowledged (0 when caught up).",
    spools.map(
      (s) =>
        `eddy_otlp_spool_lag_seconds${labels({ connection: s.connection, signal: s.signal })} ${s.lagSeconds}`,
    ),
  );
  return out.join("\n") + "\n";
}

function increment<K>(map: Map<K, number>, key: K, by: number): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

function labels(values: Record<string, string>): string {
  return `{${Object.entries(values)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",")}}`;
}

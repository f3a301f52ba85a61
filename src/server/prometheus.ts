/**
 * `/metrics` in the Prometheus text exposition format (version 0.0.4): per-processor counters, the
 * latency histogram, watermark lag, state size and a state gauge, labelled `{workspace, processor}`.
 */
import { isPlainObject } from "../mql/bson-types.ts";
import type { Doc } from "../mql/index.ts";
import { PROCESSOR_STATES } from "../control/lifecycle.ts";
import type { ProcessorMetrics } from "../control/processor-manager.ts";
import { LATENCY_BUCKET_BOUNDS_MICROS, type LatencyBucket } from "../runtime/stats.ts";
import { MonotonicCounters } from "./monotonic-counters.ts";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const COUNTERS: ReadonlyArray<readonly [string, string, string]> = [
  [
    "eddy_processor_input_messages_total",
    "inputMessageCount",
    "Documents that passed the processor's $source.",
  ],
  ["eddy_processor_input_bytes_total", "inputMessageSize", "Bytes that passed the processor's $source."],
  [
    "eddy_processor_output_messages_total",
    "outputMessageCount",
    "Documents written by the processor's sink.",
  ],
  ["eddy_processor_output_bytes_total", "outputMessageSize", "Bytes written by the processor's sink."],
  ["eddy_processor_dlq_messages_total", "dlqMessageCount", "Records sent to the dead letter queue."],
  ["eddy_processor_dlq_bytes_total", "dlqMessageSize", "Bytes sent to the dead letter queue."],
];

/** `counters` (kept by the caller across scrapes) makes every counter series monotonic. */
export function renderMetrics(
  processors: readonly ProcessorMetrics[],
  counters = new MonotonicCounters(),
  now = Date.now(),
): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string, lines: string[]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  };
  const labels = (p: ProcessorMetrics, extra: Record<string, string> = {}): string =>
    `{${Object.entries({ workspace: p.workspace, processor: p.name, ...extra })
      .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      .join(",")}}`;

  for (const [name, field, help] of COUNTERS) {
    family(
      name,
      "counter",
      help,
      processors
        .filter((p) => p.stats)
        .map(
          (p) =>
            `${name}${labels(p)} ${counters.adjust(`${name}${labels(p)}`, num((p.stats as Doc)[field]))}`,
        ),
    );
  }

  const histogram: string[] = [];
  for (const p of processors) {
    const latency = p.stats?.latency;
    if (!isPlainObject(latency)) continue;
    const buckets = Array.isArray(latency.buckets)
      ? (latency.buckets as LatencyBucket[])
      : LATENCY_BUCKET_BOUNDS_MICROS.map((le) => ({ le, count: 0 }));
    for (const bucket of buckets) {
      histogram.push(
        `eddy_processor_latency_seconds_bucket${labels(p, { le: String(bucket.le / 1e6) })} ${num(bucket.count)}`,
      );
    }
    histogram.push(`eddy_processor_latency_seconds_bucket${labels(p, { le: "+Inf" })} ${num(latency.count)}`);
    histogram.push(`eddy_processor_latency_seconds_sum${labels(p)} ${num(latency.sum) / 1e6}`);
    histogram.push(`eddy_processor_latency_seconds_count${labels(p)} ${num(latency.count)}`);
  }
  family(
    "eddy_processor_latency_seconds",
    "histogram",
    "Time from reading a batch to writing its results to the sink.",
    histogram,
  );

  family(
    "eddy_processor_watermark_lag_seconds",
    "gauge",
    "How far the processor's event-time watermark is behind the wall clock (processors with windows).",
    processors
      .filter((p) => p.stats?.watermark instanceof Date)
      .map(
        (p) =>
          `eddy_processor_watermark_lag_seconds${labels(p)} ${(now - (p.stats?.watermark as Date).getTime()) / 1000}`,
      ),
  );
  family(
    "eddy_processor_state_size_bytes",
    "gauge",
    "Bytes held in window state.",
    processors
      .filter((p) => p.stats)
      .map((p) => `eddy_processor_state_size_bytes${labels(p)} ${num(p.stats?.stateSize)}`),
  );
  family(
    "eddy_processor_restarts_total",
    "counter",
    "Automatic restarts after transient errors since the processor last started.",
    processors.map(
      (p) =>
        `eddy_processor_restarts_total${labels(p)} ${counters.adjust(`eddy_processor_restarts_total${labels(p)}`, p.restarts)}`,
    ),
  );
  family(
    "eddy_processor_state",
    "gauge",
    "1 for the processor's current state (CREATED, STARTED, STOPPED, FAILED), 0 for the others.",
    processors.flatMap((p) =>
      PROCESSOR_STATES.map(
        (state) => `eddy_processor_state${labels(p, { state })} ${p.state === state ? 1 : 0}`,
      ),
    ),
  );
  family("eddy_processors", "gauge", "Processors known to this server.", [
    `eddy_processors ${processors.length}`,
  ]);
  return out.join("\n") + "\n";
}

function num(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (value !== null && typeof value === "object" && "toNumber" in value) {
    return (value as { toNumber(): number }).toNumber();
  }
  return 0;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

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

/** The processor counter series: metric name, the stats field it reads, help text. */
export const PROCESSOR_COUNTERS: ReadonlyArray<readonly [string, string, string]> = [
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

  for (const [name, field, help] of PROCESSOR_COUNTERS) {
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
  const live = processors.filter((p) => p.state === "STARTED" && p.stats);
  family(
    "eddy_source_lag_records",
    "gauge",
    "Records between the next offset the processor reads and the partition's log end (Kafka sources).",
    live.flatMap((p) =>
      kafkaPartitions(p.stats).map(
        (part) =>
          `eddy_source_lag_records${labels(p, { topic: part.topic, partition: String(part.partition) })} ${part.partitionOffsetLag}`,
      ),
    ),
  );
  family(
    "eddy_source_lag_seconds",
    "gauge",
    "How far the source is behind: a change stream's time difference, else the watermark's lag behind the clock.",
    live.flatMap((p) => {
      const seconds = lagSeconds(p.stats as Doc, now);
      return seconds === undefined ? [] : [`eddy_source_lag_seconds${labels(p)} ${seconds}`];
    }),
  );
  family(
    "eddy_source_up",
    "gauge",
    "1 while a started processor's source reaches its server, 0 while it does not.",
    live.flatMap((p) => {
      const status = (p.stats as Doc).sourceStatus;
      if (!isPlainObject(status)) return [];
      return [`eddy_source_up${labels(p)} ${status.reachable === false ? 0 : 1}`];
    }),
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

/** `kafkaPartitions[]` entries whose lag is known. */
function kafkaPartitions(
  stats: Doc | undefined,
): Array<{ topic: string; partition: number; partitionOffsetLag: number }> {
  const partitions = stats?.kafkaPartitions;
  if (!Array.isArray(partitions)) return [];
  return partitions.flatMap((part: unknown) =>
    isPlainObject(part) && part.partitionOffsetLag !== undefined
      ? [
          {
            topic: String(part.topic ?? ""),
            partition: num(part.partition),
            partitionOffsetLag: num(part.partitionOffsetLag),
          },
        ]
      : [],
  );
}

/** A change stream's `changeStreamTimeDifferenceSecs`, else the watermark's lag (sources with windows). */
export function lagSeconds(stats: Doc, now: number): number | undefined {
  if (stats.changeStreamTimeDifferenceSecs !== undefined) return num(stats.changeStreamTimeDifferenceSecs);
  if (stats.watermark instanceof Date) return Math.max(0, (now - stats.watermark.getTime()) / 1000);
  return undefined;
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

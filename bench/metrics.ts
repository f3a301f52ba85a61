/**
 * `/metrics` rendering: the hand-written exposition of the processor series (src/server/prometheus.ts)
 * against the same series through prom-client (a registry of counters, gauges and a histogram set from the
 * stats on each scrape, as a pull-model exporter must). Run: `npm run bench:metrics`.
 */
import { Counter, Gauge, Registry } from "prom-client";
import type { ProcessorMetrics } from "../src/control/processor-manager.ts";
import { PROCESSOR_COUNTERS, renderMetrics } from "../src/server/prometheus.ts";
import { LATENCY_BUCKET_BOUNDS_MICROS } from "../src/runtime/stats.ts";
import { MonotonicCounters } from "../src/server/monotonic-counters.ts";

const PROCESSORS = 200;
const SCRAPES = 200;

const processors: ProcessorMetrics[] = Array.from({ length: PROCESSORS }, (_, i) => ({
  workspace: "default",
  name: `p${i}`,
  state: "STARTED",
  restarts: 0,
  pipeline: [],
  connections: ["kafka"],
  stats: {
    inputMessageCount: 1000 * i,
    inputMessageSize: 100_000 * i,
    outputMessageCount: 990 * i,
    outputMessageSize: 99_000 * i,
    dlqMessageCount: i,
    dlqMessageSize: 100 * i,
    stateSize: 0,
    kafkaPartitions: [0, 1, 2].map((partition) => ({ topic: "t", partition, partitionOffsetLag: i })),
    sourceStatus: { reachable: true, since: 0 },
    latency: {
      count: 1000,
      sum: 5_000_000,
      buckets: LATENCY_BUCKET_BOUNDS_MICROS.map((le, k) => ({ le, count: 60 * (k + 1) })),
    },
  },
}));

function handWritten(): number {
  const counters = new MonotonicCounters();
  let bytes = 0;
  for (let i = 0; i < SCRAPES; i++) bytes += renderMetrics(processors, counters).length;
  return bytes;
}

async function withPromClient(): Promise<number> {
  const registry = new Registry();
  const labelNames = ["workspace", "processor"] as const;
  const counters = PROCESSOR_COUNTERS.map(
    ([name, , help]) => new Counter({ name, help, labelNames, registers: [registry] }),
  );
  const fields = PROCESSOR_COUNTERS.map(([, field]) => field);
  const lag = new Gauge({
    name: "eddy_source_lag_records",
    help: "lag",
    labelNames: ["workspace", "processor", "topic", "partition"],
    registers: [registry],
  });
  const buckets = new Gauge({
    name: "eddy_processor_latency_seconds_bucket",
    help: "latency (a histogram kept elsewhere must be copied in bucket by bucket)",
    labelNames: ["workspace", "processor", "le"],
    registers: [registry],
  });
  const state = new Gauge({
    name: "eddy_processor_state",
    help: "state",
    labelNames: ["workspace", "processor", "state"],
    registers: [registry],
  });
  let bytes = 0;
  for (let i = 0; i < SCRAPES; i++) {
    for (const p of processors) {
      const labels = { workspace: p.workspace, processor: p.name };
      const stats = p.stats as Record<string, unknown>;
      counters.forEach((counter, k) => {
        counter.reset();
        counter.inc(labels, stats[fields[k]] as number);
      });
      for (const part of stats.kafkaPartitions as Array<{
        topic: string;
        partition: number;
        partitionOffsetLag: number;
      }>)
        lag.set({ ...labels, topic: part.topic, partition: String(part.partition) }, part.partitionOffsetLag);
      for (const b of (stats.latency as { buckets: Array<{ le: number; count: number }> }).buckets)
        buckets.set({ ...labels, le: String(b.le / 1e6) }, b.count);
      for (const s of ["CREATED", "STARTED", "STOPPED", "FAILED"])
        state.set({ ...labels, state: s }, s === p.state ? 1 : 0);
    }
    bytes += (await registry.metrics()).length;
  }
  return bytes;
}

async function time(label: string, run: () => number | Promise<number>): Promise<number> {
  await run(); // warm-up
  const started = performance.now();
  const bytes = await run();
  const ms = (performance.now() - started) / SCRAPES;
  console.log(
    `${label.padEnd(14)} ${ms.toFixed(2)} ms per scrape of ${PROCESSORS} processors (${Math.round(bytes / SCRAPES / 1024)} KiB)`,
  );
  return ms;
}

const hand = await time("hand-written", handWritten);
const prom = await time("prom-client", withPromClient);
console.log(`prom-client / hand-written: ${(prom / hand).toFixed(2)}`);

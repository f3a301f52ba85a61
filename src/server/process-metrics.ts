/**
 * The server process's own figures (CPU, resident memory, heap, event-loop delay, handles…) from
 * prom-client's default collectors, in a registry of Eddy's own (not prom-client's global one). The figures
 * are the process's, so every server in a process (tests start many) shares one: `processMetrics()`.
 * `/metrics` appends them to the processor series; the console reads `snapshot`.
 */
import { collectDefaultMetrics, Registry, type MetricObjectWithValues, type MetricValue } from "prom-client";

/** What the console shows about the process; CPU is cumulative seconds (the console derives a rate). */
export interface ProcessSnapshot {
  readonly cpuSeconds: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  /** p99 of the event-loop delay since the collector started, in seconds. */
  readonly eventLoopDelayP99Seconds: number;
}

let shared: ProcessMetrics | undefined;

/** The process's collectors, started at the first call (they run an event-loop delay monitor). */
export function processMetrics(): ProcessMetrics {
  shared ??= new ProcessMetrics();
  return shared;
}

export class ProcessMetrics {
  private readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
  }

  /** The Prometheus text exposition of every default metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  async snapshot(): Promise<ProcessSnapshot> {
    const metrics = await this.registry.getMetricsAsJSON();
    const value = (name: string): number => {
      const metric = metrics.find((m) => m.name === name) as
        MetricObjectWithValues<MetricValue<string>> | undefined;
      return metric?.values[0]?.value ?? 0;
    };
    return {
      cpuSeconds: value("process_cpu_seconds_total"),
      rssBytes: value("process_resident_memory_bytes"),
      heapUsedBytes: value("nodejs_heap_size_used_bytes"),
      eventLoopDelayP99Seconds: value("nodejs_eventloop_lag_p99_seconds"),
    };
  }
}

/**
 * The server process's own figures (CPU, resident memory, heap, event-loop delay, handles…) from
 * prom-client's default collectors, in a registry of this server's own (two servers in one process, as in
 * tests, do not share one). `/metrics` appends them to the processor series; the console reads `snapshot`.
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

/**
 * The console's recent figures: every `intervalMs` it reads each processor's stats and the process figures,
 * turns counters into per-second rates and the latency histogram into the interval's percentiles, and
 * keeps the last 15 minutes per processor, so a console opened later still plots them.
 */
import { isPlainObject } from "../../mql/bson-types.ts";
import type { Doc } from "../../mql/index.ts";
import type { ProcessorMetrics } from "../../control/processor-manager.ts";
import type { LatencyBucket } from "../../runtime/stats.ts";
import { lagSeconds } from "../prometheus.ts";
import type { ProcessSnapshot } from "../process-metrics.ts";

export const HISTORY_SPAN_MS = 15 * 60_000;

/** One processor as the console lists it. */
export interface ProcessorRow {
  readonly workspace: string;
  readonly name: string;
  readonly state: string;
  /** ASP's stats status while running ("running", "error"…), else undefined. */
  readonly status?: string;
  readonly error?: string;
  readonly inputMessageCount: number;
  readonly outputMessageCount: number;
  readonly dlqMessageCount: number;
  readonly lagRecords?: number;
  readonly lagSeconds?: number;
  readonly sourceReachable?: boolean;
  readonly restarts: number;
}

/** One sample of a processor's figures; rates per second, latencies in milliseconds. */
export interface ProcessorPoint {
  readonly t: number;
  readonly inRate: number;
  readonly outRate: number;
  readonly dlqRate: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly lag: number | null;
}

export interface ProcessPoint extends ProcessSnapshot {
  readonly t: number;
  /** CPU use since the previous sample, in percent of one core. */
  readonly cpuPercent: number;
}

export interface Sample {
  readonly at: number;
  readonly processors: readonly ProcessorRow[];
  /** By `workspace/name`. */
  readonly points: Readonly<Record<string, ProcessorPoint>>;
  readonly process: ProcessPoint;
}

interface Previous {
  readonly t: number;
  readonly input: number;
  readonly output: number;
  readonly dlq: number;
  readonly buckets: readonly LatencyBucket[] | undefined;
}

export class MetricsHistory {
  private readonly series = new Map<string, ProcessorPoint[]>();
  private readonly previous = new Map<string, Previous>();
  private readonly processSeries: ProcessPoint[] = [];
  private readonly listeners = new Set<(sample: Sample) => void>();
  private latest: Sample | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly read: () => Promise<{ processors: ProcessorMetrics[]; process: ProcessSnapshot }>;

  constructor(
    read: () => Promise<{ processors: ProcessorMetrics[]; process: ProcessSnapshot }>,
    intervalMs = 2_000,
  ) {
    this.read = read;
    this.intervalMs = intervalMs;
  }

  start(): void {
    this.timer = setInterval(() => void this.sample().catch(() => undefined), this.intervalMs);
    this.timer.unref();
    void this.sample().catch(() => undefined);
  }

  stop(): void {
    clearInterval(this.timer);
    this.listeners.clear();
  }

  subscribe(listener: (sample: Sample) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The last sample, taking one now when there is none yet. */
  async current(): Promise<Sample> {
    return this.latest ?? (await this.sample());
  }

  /** Every kept point per processor (`workspace/name`) and for the process. */
  history(): { processors: Record<string, readonly ProcessorPoint[]>; process: readonly ProcessPoint[] } {
    return { processors: Object.fromEntries(this.series), process: [...this.processSeries] };
  }

  async sample(now = Date.now()): Promise<Sample> {
    const { processors, process } = await this.read();
    const rows: ProcessorRow[] = [];
    const points: Record<string, ProcessorPoint> = {};
    const seen = new Set<string>();
    for (const p of processors) {
      const key = `${p.workspace}/${p.name}`;
      seen.add(key);
      const stats = p.stats ?? {};
      const row = toRow(p, stats, now);
      rows.push(row);
      if (p.state !== "STARTED") {
        this.previous.delete(key);
        continue;
      }
      const point = this.point(key, stats, row, now);
      points[key] = point;
      const series = this.series.get(key) ?? [];
      series.push(point);
      trim(series, now);
      this.series.set(key, series);
    }
    for (const key of this.series.keys()) if (!seen.has(key)) this.series.delete(key);
    const last = this.processSeries.at(-1);
    const processPoint: ProcessPoint = {
      ...process,
      t: now,
      cpuPercent:
        last && now > last.t ? (100 * (process.cpuSeconds - last.cpuSeconds) * 1000) / (now - last.t) : 0,
    };
    this.processSeries.push(processPoint);
    trim(this.processSeries, now);
    const sample: Sample = { at: now, processors: rows, points, process: processPoint };
    this.latest = sample;
    for (const listener of this.listeners) listener(sample);
    return sample;
  }

  private point(key: string, stats: Doc, row: ProcessorRow, now: number): ProcessorPoint {
    const buckets = latencyBuckets(stats);
    const before = this.previous.get(key);
    this.previous.set(key, {
      t: now,
      input: row.inputMessageCount,
      output: row.outputMessageCount,
      dlq: row.dlqMessageCount,
      buckets,
    });
    const seconds = before ? (now - before.t) / 1000 : 0;
    const rate = (current: number, previous: number | undefined): number =>
      seconds > 0 && previous !== undefined ? Math.max(0, current - previous) / seconds : 0;
    const interval = buckets && before?.buckets ? difference(buckets, before.buckets) : undefined;
    return {
      t: now,
      inRate: rate(row.inputMessageCount, before?.input),
      outRate: rate(row.outputMessageCount, before?.output),
      dlqRate: rate(row.dlqMessageCount, before?.dlq),
      p50: interval ? percentileMs(interval, 50) : null,
      p95: interval ? percentileMs(interval, 95) : null,
      p99: interval ? percentileMs(interval, 99) : null,
      lag: row.lagRecords ?? row.lagSeconds ?? null,
    };
  }
}

function toRow(p: ProcessorMetrics, stats: Doc, now: number): ProcessorRow {
  const live = p.state === "STARTED" && p.stats !== undefined;
  // A scaled-out processor's lag is its tasks', whether or not one of them runs here.
  const lagOf = p.totals ?? (live ? stats : undefined);
  const lagRecords = p.state === "STARTED" ? lagOf?.kafkaTotalOffsetLag : undefined;
  const error = isPlainObject(stats.error) ? String(stats.error.reason) : undefined;
  const seconds = live ? lagSeconds(stats, now) : undefined;
  const sourceStatus = isPlainObject(stats.sourceStatus) ? stats.sourceStatus : undefined;
  return {
    workspace: p.workspace,
    name: p.name,
    state: p.state,
    ...(live && typeof stats.status === "string" ? { status: stats.status } : {}),
    ...(error !== undefined ? { error } : {}),
    // A scaled-out processor's own counts, not this instance's task's.
    inputMessageCount: num(p.totals?.inputMessageCount ?? stats.inputMessageCount),
    outputMessageCount: num(p.totals?.outputMessageCount ?? stats.outputMessageCount),
    dlqMessageCount: num(p.totals?.dlqMessageCount ?? stats.dlqMessageCount),
    ...(lagRecords !== undefined ? { lagRecords: num(lagRecords) } : {}),
    ...(seconds !== undefined ? { lagSeconds: Math.round(seconds * 10) / 10 } : {}),
    ...(live && sourceStatus ? { sourceReachable: sourceStatus.reachable !== false } : {}),
    restarts: p.restarts,
  };
}

function latencyBuckets(stats: Doc): LatencyBucket[] | undefined {
  const latency = stats.latency;
  return isPlainObject(latency) && Array.isArray(latency.buckets)
    ? (latency.buckets as LatencyBucket[])
    : undefined;
}

/** Cumulative bucket counts of the interval between two samples. */
function difference(current: readonly LatencyBucket[], previous: readonly LatencyBucket[]): LatencyBucket[] {
  return current.map((bucket, i) => ({
    le: bucket.le,
    count: Math.max(0, bucket.count - (previous[i]?.count ?? 0)),
  }));
}

/**
 * The p-th percentile in milliseconds from cumulative buckets (microsecond bounds), interpolated linearly
 * within its bucket as Prometheus' histogram_quantile does; null without latencies in the interval.
 */
export function percentileMs(buckets: readonly LatencyBucket[], p: number): number | null {
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return null;
  const rank = (p / 100) * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      const inBucket = bucket.count - lowerCount;
      const fraction = inBucket > 0 ? (rank - lowerCount) / inBucket : 1;
      return Math.round((lowerBound + (bucket.le - lowerBound) * fraction) / 10) / 100;
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound / 1000;
}

function trim(series: Array<{ t: number }>, now: number): void {
  const from = series.findIndex((point) => point.t >= now - HISTORY_SPAN_MS);
  if (from > 0) series.splice(0, from);
}

function num(value: unknown): number {
  if (typeof value === "number") return value;
  if (value !== null && typeof value === "object" && "toNumber" in value)
    return (value as { toNumber(): number }).toNumber();
  return 0;
}

/**
 * The verbose stats of several runtimes as one: a task's running partitions (task-stats.ts), then a processor's
 * live tasks (processor-totals.ts). docs/scale-out.md, "Stats", says what the merged figures mean.
 */
import {
  COUNTER_FIELDS,
  type LatencyBucket,
  type LatencyStats,
  type OperatorStatsOutput,
} from "../../runtime/stats.ts";

/**
 * Each operator once, matched by position and name (every list runs the same plan, or a prefix of it): its
 * counters, sizes, state and execution time summed, in pipeline order.
 */
export function mergeOperatorStats(
  lists: ReadonlyArray<readonly OperatorStatsOutput[]>,
): OperatorStatsOutput[] {
  const merged = new Map<string, OperatorStatsOutput>();
  for (const list of lists)
    list.forEach((operator, position) => {
      const key = `${position}:${operator.name}`;
      const seen = merged.get(key);
      merged.set(key, seen ? addOperator(seen, operator) : operator);
    });
  return [...merged.values()];
}

function addOperator(a: OperatorStatsOutput, b: OperatorStatsOutput): OperatorStatsOutput {
  const sum: Record<(typeof COUNTER_FIELDS)[number], number> = { ...a };
  for (const field of COUNTER_FIELDS) sum[field] = a[field] + b[field];
  return {
    ...a,
    ...sum,
    stateSize: a.stateSize + b.stateSize,
    executionTimeMillis: a.executionTimeMillis + b.executionTimeMillis,
  };
}

/**
 * One latency summary from several: `count`, `sum` and the cumulative `buckets` add up exactly. A percentile
 * cannot be merged from percentiles: each is the count-weighted mean of the summaries' own, kept within what
 * is known for sure of the merged one: it lies between the lowest and the highest of theirs, and inside the
 * merged bucket interval where its rank falls.
 */
export function mergeLatency(all: readonly LatencyStats[]): LatencyStats | undefined {
  const counted = all.filter((latency) => latency.count > 0);
  if (counted.length === 0) return all[0];
  const count = counted.reduce((total, latency) => total + latency.count, 0);
  const buckets = mergeBuckets(counted);
  const percentile = (field: "p50" | "p95" | "p99", p: number) => {
    const values = counted.map((latency) => latency[field]);
    const weighted = counted.reduce((total, latency) => total + latency[field] * latency.count, 0) / count;
    const [low, high] = bucketInterval(buckets, Math.ceil((p / 100) * count));
    const clamped = Math.min(Math.max(weighted, Math.min(...values)), Math.max(...values));
    return Math.round(Math.min(Math.max(clamped, low), high));
  };
  return {
    p50: percentile("p50", 50),
    p95: percentile("p95", 95),
    p99: percentile("p99", 99),
    unit: "microseconds",
    count,
    sum: counted.reduce((total, latency) => total + latency.sum, 0),
    ...(buckets ? { buckets } : {}),
  };
}

/** The summaries' cumulative buckets added bound by bound, when all have the same bounds. */
function mergeBuckets(all: readonly LatencyStats[]): LatencyBucket[] | undefined {
  const first = all[0].buckets;
  const sameBounds = (buckets: readonly LatencyBucket[] | undefined) =>
    buckets !== undefined &&
    first !== undefined &&
    buckets.length === first.length &&
    buckets.every((bucket, i) => bucket.le === first[i].le);
  if (!first || !all.every((latency) => sameBounds(latency.buckets))) return undefined;
  return first.map(({ le }, i) => ({
    le,
    count: all.reduce((total, latency) => total + (latency.buckets?.[i].count ?? 0), 0),
  }));
}

/** Between which bounds the value of rank `rank` lies (unbounded without buckets, or above the last). */
function bucketInterval(buckets: readonly LatencyBucket[] | undefined, rank: number): [number, number] {
  let low = 0;
  for (const bucket of buckets ?? []) {
    if (bucket.count >= rank) return [low, bucket.le];
    low = bucket.le;
  }
  return [low, Infinity];
}

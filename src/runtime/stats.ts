import type { Doc } from "../mql/index.ts";
import type { CheckpointInfo } from "./checkpoint.ts";
import type { SourceLag } from "./source.ts";

/** Message counters kept per operator and per processor; sizes are bytes. */
export class MessageCounters {
  inputMessageCount = 0;
  inputMessageSize = 0;
  outputMessageCount = 0;
  outputMessageSize = 0;
  dlqMessageCount = 0;
  dlqMessageSize = 0;
}

/** Per-operator counters, reported in verbose stats as ASP's `operatorStats[]`. */
export class OperatorStats extends MessageCounters {
  readonly name: string;
  /** Documents the operator dropped on purpose ($match false, $validate discard, window gaps…). */
  filteredMessageCount = 0;
  executionTimeMillis = 0;
  stateSize = 0;

  constructor(name: string) {
    super();
    this.name = name;
  }
}

/**
 * Latency histogram in microseconds with ~4 % wide logarithmic buckets, so p50/p99 need no sample storage.
 */
export class LatencyHistogram {
  private readonly buckets = new Map<number, number>();
  count = 0;
  sum = 0;

  record(micros: number, times = 1): void {
    const value = Math.max(0, micros);
    const bucket = value < 1 ? 0 : Math.ceil(Math.log(value) / Math.log(1.04));
    this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + times);
    this.count += times;
    this.sum += value * times;
  }

  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (const bucket of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(bucket) ?? 0;
      if (seen >= rank) return bucket === 0 ? 0 : Math.round(1.04 ** bucket);
    }
    return 0;
  }

  /**
   * Cumulative counts at fixed upper bounds (microseconds), as a Prometheus histogram exposes them: each
   * recorded value counts under the first bound at or above its ~4 % bucket's upper edge.
   */
  cumulative(boundsMicros: readonly number[] = LATENCY_BUCKET_BOUNDS_MICROS): LatencyBucket[] {
    const counts = boundsMicros.map(() => 0);
    for (const [bucket, times] of this.buckets) {
      const upper = bucket === 0 ? 0 : 1.04 ** bucket;
      for (let i = 0; i < boundsMicros.length; i++)
        if (upper <= boundsMicros[i] * 1.0000001) counts[i] += times;
    }
    return boundsMicros.map((le, i) => ({ le, count: counts[i] }));
  }
}

/** One cumulative histogram bucket: how many latencies were at most `le` microseconds. */
export interface LatencyBucket {
  readonly le: number;
  readonly count: number;
}

/** Default histogram bounds: 0.5 ms … 60 s (Prometheus' usual spread, in microseconds). */
export const LATENCY_BUCKET_BOUNDS_MICROS: readonly number[] = [
  500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
  5_000_000, 10_000_000, 30_000_000, 60_000_000,
];

export interface LatencyStats {
  readonly p50: number;
  /** Eddy extension (ASP reports p50 and p99). */
  readonly p95: number;
  readonly p99: number;
  readonly unit: "microseconds";
  readonly count: number;
  readonly sum: number;
  /** Eddy extension: cumulative counts at LATENCY_BUCKET_BOUNDS_MICROS (for `/metrics`). */
  readonly buckets?: readonly LatencyBucket[];
}

/** The message counters as reported, sizes divided by the requested scale. */
export interface MessageCountersOutput {
  readonly inputMessageCount: number;
  readonly inputMessageSize: number;
  readonly outputMessageCount: number;
  readonly outputMessageSize: number;
  readonly dlqMessageCount: number;
  readonly dlqMessageSize: number;
}

export interface OperatorStatsOutput extends MessageCountersOutput {
  readonly name: string;
  readonly stateSize: number;
  readonly executionTimeMillis: number;
}

/** `stats()` with ASP's field names (§7.1); the source's lag fields come from `Source.lag()`. */
export interface ProcessorStats extends MessageCountersOutput, SourceLag {
  readonly name: string;
  readonly status: string;
  readonly scaleFactor: number;
  readonly stateSize: number;
  readonly watermark?: Date;
  readonly lastMessageIn?: Date;
  readonly latency?: LatencyStats;
  readonly operatorStats?: readonly OperatorStatsOutput[];
  /** Eddy extension: the last checkpoint this run took (see docs/checkpoints.md). */
  readonly lastCheckpoint?: CheckpointInfo;
  /** Eddy extension: why `status` is `"error"` (retrying, or failed when `retryable` is false). */
  readonly error?: { readonly reason: string; readonly retryable: boolean };
}

/** Counters for one running processor. Sizes are bytes; `snapshot` divides them by `scale`. */
export class StatsCollector extends MessageCounters {
  readonly name: string;
  status = "created";
  /** Epoch ms of the last input message. */
  lastMessageIn: number | undefined;
  readonly latency = new LatencyHistogram();
  readonly operators: OperatorStats[] = [];
  lastCheckpoint: CheckpointInfo | undefined;

  constructor(name: string) {
    super();
    this.name = name;
  }

  operator(name: string): OperatorStats {
    const stats = new OperatorStats(name);
    this.operators.push(stats);
    return stats;
  }

  /** The cumulative counters a checkpoint keeps, so stats continue after a resume. */
  toCheckpoint(): Doc {
    return {
      ...countersDoc(this),
      ...(this.lastMessageIn !== undefined ? { lastMessageIn: this.lastMessageIn } : {}),
      operators: this.operators.map((op) => ({
        name: op.name,
        ...countersDoc(op),
        filteredMessageCount: op.filteredMessageCount,
        executionTimeMillis: op.executionTimeMillis,
      })),
    };
  }

  /** Continues from a checkpoint's counters; operators are matched by position and name (same plan). */
  restoreCheckpoint(saved: Doc): void {
    restoreCounters(this, saved);
    if (typeof saved.lastMessageIn === "number") this.lastMessageIn = saved.lastMessageIn;
    const operators = Array.isArray(saved.operators) ? (saved.operators as Doc[]) : [];
    this.operators.forEach((op, i) => {
      const entry = operators[i];
      if (entry === undefined || entry.name !== op.name) return;
      restoreCounters(op, entry);
      op.filteredMessageCount = numberOr(entry.filteredMessageCount, 0);
      op.executionTimeMillis = numberOr(entry.executionTimeMillis, 0);
    });
  }

  snapshot(
    state: { stateSize: number; watermark: number | undefined },
    options: { verbose?: boolean; scale?: number } = {},
  ): ProcessorStats {
    const scale = options.scale ?? 1;
    const base: ProcessorStats = {
      name: this.name,
      status: this.status,
      scaleFactor: scale,
      ...scaledCounters(this, scale),
      stateSize: Math.floor(state.stateSize / scale),
      ...(state.watermark !== undefined && Number.isFinite(state.watermark)
        ? { watermark: new Date(state.watermark) }
        : {}),
      ...(this.lastMessageIn !== undefined ? { lastMessageIn: new Date(this.lastMessageIn) } : {}),
      ...(this.lastCheckpoint !== undefined ? { lastCheckpoint: this.lastCheckpoint } : {}),
    };
    if (!options.verbose) return base;
    return {
      ...base,
      latency: {
        p50: this.latency.percentile(50),
        p95: this.latency.percentile(95),
        p99: this.latency.percentile(99),
        unit: "microseconds",
        count: this.latency.count,
        sum: Math.round(this.latency.sum),
        buckets: this.latency.cumulative(),
      },
      operatorStats: this.operators.map((op) => ({
        name: op.name,
        ...scaledCounters(op, scale),
        stateSize: Math.floor(op.stateSize / scale),
        executionTimeMillis: Math.round(op.executionTimeMillis),
      })),
    };
  }
}

/** The cumulative message counters (a checkpoint keeps them; they only grow within a run). */
export const COUNTER_FIELDS = [
  "inputMessageCount",
  "inputMessageSize",
  "outputMessageCount",
  "outputMessageSize",
  "dlqMessageCount",
  "dlqMessageSize",
] as const;

function countersDoc(counters: MessageCounters): Doc {
  const doc: Doc = {};
  for (const field of COUNTER_FIELDS) doc[field] = counters[field];
  return doc;
}

function restoreCounters(counters: MessageCounters, saved: Doc): void {
  for (const field of COUNTER_FIELDS) counters[field] = numberOr(saved[field], 0);
}

/** Counts may come back from a store as Long (BSON) when they outgrew int32. */
function numberOr(value: unknown, fallback: number): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (value !== null && typeof value === "object" && "toNumber" in value) {
    return (value as { toNumber(): number }).toNumber();
  }
  return fallback;
}

function scaledCounters(counters: MessageCounters, scale: number): MessageCountersOutput {
  return {
    inputMessageCount: counters.inputMessageCount,
    inputMessageSize: Math.floor(counters.inputMessageSize / scale),
    outputMessageCount: counters.outputMessageCount,
    outputMessageSize: Math.floor(counters.outputMessageSize / scale),
    dlqMessageCount: counters.dlqMessageCount,
    dlqMessageSize: Math.floor(counters.dlqMessageSize / scale),
  };
}

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
}

export interface LatencyStats {
  readonly p50: number;
  readonly p99: number;
  readonly unit: "microseconds";
  readonly count: number;
  readonly sum: number;
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

/** `stats()` with ASP's field names (§7.1). */
export interface ProcessorStats extends MessageCountersOutput {
  readonly name: string;
  readonly status: string;
  readonly scaleFactor: number;
  readonly stateSize: number;
  readonly watermark?: Date;
  readonly lastMessageIn?: Date;
  readonly latency?: LatencyStats;
  readonly operatorStats?: readonly OperatorStatsOutput[];
}

/** Counters for one running processor. Sizes are bytes; `snapshot` divides them by `scale`. */
export class StatsCollector extends MessageCounters {
  readonly name: string;
  status = "created";
  /** Epoch ms of the last input message. */
  lastMessageIn: number | undefined;
  readonly latency = new LatencyHistogram();
  readonly operators: OperatorStats[] = [];

  constructor(name: string) {
    super();
    this.name = name;
  }

  operator(name: string): OperatorStats {
    const stats = new OperatorStats(name);
    this.operators.push(stats);
    return stats;
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
    };
    if (!options.verbose) return base;
    return {
      ...base,
      latency: {
        p50: this.latency.percentile(50),
        p99: this.latency.percentile(99),
        unit: "microseconds",
        count: this.latency.count,
        sum: Math.round(this.latency.sum),
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

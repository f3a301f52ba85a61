import { calculateObjectSize } from "bson";
import type { Doc } from "../../mql/index.ts";
import {
  systemClock,
  type Clock,
  type Source,
  type SourceBatch,
  type SourceRecord,
} from "../../runtime/index.ts";
import { seededRandom } from "./solar.ts";
import { SAMPLE_GENERATORS } from "./datasets.ts";

export interface SampleSourceOptions {
  /** Documents per second; `Infinity` generates as fast as the pipeline reads. Default 10. */
  readonly rate?: number;
  /** Stop after this many documents (finite source, for tests). Default: infinite. */
  readonly count?: number;
  /** PRNG seed for reproducible documents. Default: random. */
  readonly seed?: number;
  readonly batchSize?: number;
  readonly clock?: Clock;
  /** Waits `ms` (injectable so tests need no real timers). */
  readonly sleep?: (ms: number) => Promise<void>;
}

const IDLE_POLL_MS = 1000;

/** A `Sample` connection's generator (`sample_stream_solar`), paced at `rate` documents per second. */
export class SampleSource implements Source {
  readonly type = "generated";
  readonly operatorName = "SampleDataSourceOperator";
  readonly timestampIsReadTime = true;
  private readonly dataset: string;
  private readonly generate: (random: () => number, now: number) => Doc;
  private readonly rate: number;
  private readonly count: number;
  private readonly batchSize: number;
  private readonly clock: Clock;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private emitted = 0;
  private startedAt = 0;

  constructor(dataset: string, options: SampleSourceOptions = {}) {
    if (!Object.hasOwn(SAMPLE_GENERATORS, dataset)) {
      throw new Error(
        `unknown sample dataset '${dataset}', expected one of: ${Object.keys(SAMPLE_GENERATORS).join(", ")}`,
      );
    }
    this.dataset = dataset;
    this.generate = SAMPLE_GENERATORS[dataset as keyof typeof SAMPLE_GENERATORS];
    this.rate = options.rate ?? 10;
    this.count = options.count ?? Infinity;
    this.batchSize = options.batchSize ?? 500;
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = seededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  }

  async start(): Promise<void> {
    this.startedAt = this.clock.now();
  }

  async next(): Promise<SourceBatch | undefined> {
    if (this.emitted >= this.count) return undefined;
    let available = this.available();
    if (available === 0) {
      const untilNext = Math.ceil(
        ((this.emitted + 1) * 1000) / this.rate - (this.clock.now() - this.startedAt),
      );
      await this.sleep(Math.max(1, Math.min(IDLE_POLL_MS, untilNext)));
      available = this.available();
      if (available === 0) return { records: [], idle: true };
    }
    const n = Math.min(available, this.batchSize, this.count - this.emitted);
    const records: SourceRecord[] = [];
    for (let i = 0; i < n; i++) {
      const now = this.clock.now();
      const doc = this.generate(this.random, now);
      records.push({ doc, partition: 0, timestamp: now, meta: undefined, size: calculateObjectSize(doc) });
    }
    this.emitted += n;
    return { records };
  }

  positions(): Doc {
    return { dataset: this.dataset, emitted: this.emitted };
  }

  async close(): Promise<void> {}

  /** Documents due by now at the configured rate and not yet generated. */
  private available(): number {
    if (this.rate === Infinity) return this.batchSize;
    const due = Math.floor(((this.clock.now() - this.startedAt) * this.rate) / 1000) + 1;
    return Math.max(0, due - this.emitted);
  }
}

/**
 * Stats kept in the state store per processor: the last stats seen (so a stopped processor, or one
 * whose server restarted, still reports them) and a bounded history of periodic snapshots.
 */
import type { Doc } from "../mql/index.ts";
import type { ProcessorStats } from "../runtime/index.ts";
import type { MessageCountersOutput } from "../runtime/stats.ts";
import type { StateStore } from "./state-store.ts";

const COLLECTION = "stats";

/** One periodic snapshot: the cumulative counters at `at`. */
export interface StatsSnapshot extends MessageCountersOutput {
  readonly at: Date;
  readonly stateSize: number;
  readonly watermark?: Date;
}

export interface StatsRecord {
  /** The last full stats (verbose, scale 1). */
  readonly last?: Doc;
  readonly history: readonly StatsSnapshot[];
}

export class StatsHistory {
  private readonly store: StateStore;
  private readonly maxEntries: number;

  constructor(store: StateStore, options: { maxEntries?: number } = {}) {
    this.store = store;
    this.maxEntries = options.maxEntries ?? 360;
  }

  async get(id: string): Promise<StatsRecord> {
    return (await this.store.get<StatsRecord>(COLLECTION, id)) ?? { history: [] };
  }

  /** Appends a snapshot of `stats` and keeps them as the last stats. */
  async record(id: string, stats: ProcessorStats, at = new Date()): Promise<void> {
    const current = await this.get(id);
    const history = [...current.history, snapshotOf(stats, at)].slice(-this.maxEntries);
    await this.store.put(COLLECTION, id, { last: toDoc(stats), history });
  }

  /** Keeps `stats` as the last stats without adding a snapshot (final stats on stop). */
  async saveLast(id: string, stats: ProcessorStats): Promise<void> {
    const current = await this.get(id);
    await this.store.put(COLLECTION, id, { last: toDoc(stats), history: current.history });
  }

  async move(from: string, to: string): Promise<void> {
    const current = await this.store.get<StatsRecord>(COLLECTION, from);
    if (!current) return;
    await this.store.put(COLLECTION, to, current);
    await this.store.delete(COLLECTION, from);
  }

  async delete(id: string): Promise<void> {
    await this.store.delete(COLLECTION, id);
  }
}

function snapshotOf(stats: ProcessorStats, at: Date): StatsSnapshot {
  return {
    at,
    inputMessageCount: stats.inputMessageCount,
    inputMessageSize: stats.inputMessageSize,
    outputMessageCount: stats.outputMessageCount,
    outputMessageSize: stats.outputMessageSize,
    dlqMessageCount: stats.dlqMessageCount,
    dlqMessageSize: stats.dlqMessageSize,
    stateSize: stats.stateSize,
    ...(stats.watermark ? { watermark: stats.watermark } : {}),
  };
}

function toDoc(stats: ProcessorStats): Doc {
  return { ...stats };
}

import type { Doc } from "../mql/index.ts";

interface PartitionState {
  maxEventTime: number;
  lastSeen: number;
}

/**
 * Watermarks per source partition (max event time − 1 ms), combined by minimum over partitions that are
 * not idle. A partition is idle when the source says so or, with `partitionIdleTimeoutMs`, when nothing came
 * from it for that long (wall clock). The combined watermark never goes backwards.
 *
 * Partitions the source is assigned ({@link assign}) count from the start: one that has delivered nothing
 * holds the watermark back until it does or is idle, so a partition read first cannot run ahead and make
 * the others' early records late. Partitions the source never named count from their first record.
 */
export class WatermarkTracker {
  private readonly partitions = new Map<string | number, PartitionState>();
  private readonly idleTimeoutMs: number | undefined;
  private idleBySource = new Set<string | number>();
  private combined = -Infinity;
  /** The last list {@link assign} registered: a source returning the same array again costs nothing. */
  private assigned: readonly (string | number)[] | undefined;

  constructor(partitionIdleTimeoutMs: number | undefined) {
    this.idleTimeoutMs = partitionIdleTimeoutMs;
  }

  get current(): number {
    return this.combined;
  }

  /**
   * Registers the source's assigned partitions (at start and after a rebalance); new ones count as seen
   * at `wallNow` with nothing delivered. Partitions are never dropped: after a restart a consumer may get
   * its partitions in steps, and releasing a restored partition would let the watermark run ahead of it.
   */
  assign(partitions: readonly (string | number)[], wallNow: number): void {
    if (partitions === this.assigned) return;
    this.assigned = partitions;
    for (const partition of partitions)
      if (!this.partitions.has(partition))
        this.partitions.set(partition, { maxEventTime: -Infinity, lastSeen: wallNow });
  }

  observe(partition: string | number, eventTime: number, wallNow: number): void {
    let state = this.partitions.get(partition);
    if (!state) {
      state = { maxEventTime: eventTime, lastSeen: wallNow };
      this.partitions.set(partition, state);
    } else {
      if (eventTime > state.maxEventTime) state.maxEventTime = eventTime;
      state.lastSeen = wallNow;
    }
    if (this.idleBySource.size > 0) this.idleBySource.delete(partition);
    if (this.partitions.size === 1) {
      if (state.maxEventTime - 1 > this.combined) this.combined = state.maxEventTime - 1;
    } else {
      this.recompute(wallNow);
    }
  }

  /**
   * Per-partition max event times (-Infinity: assigned, nothing delivered yet), idle bookkeeping and the
   * combined watermark, for a checkpoint (plain numbers and strings: storable through `encodeState`).
   */
  snapshot(): Doc {
    const partitions: unknown[] = [];
    for (const [partition, state] of this.partitions)
      partitions.push([partition, state.maxEventTime, state.lastSeen]);
    return { partitions, idleBySource: [...this.idleBySource], combined: this.combined };
  }

  /**
   * Loads a {@link snapshot} into a fresh tracker. With `wallNow`, every partition counts as seen at that
   * moment: after a restart, the time the processor was down must not make partitions look idle (which
   * would let the watermark jump ahead on the first partition that delivers).
   */
  restore(state: Doc, options: { wallNow?: number } = {}): void {
    this.partitions.clear();
    this.assigned = undefined;
    for (const [partition, maxEventTime, lastSeen] of state.partitions as [string | number, number, number][])
      this.partitions.set(partition, { maxEventTime, lastSeen: options.wallNow ?? lastSeen });
    this.idleBySource = new Set(state.idleBySource as (string | number)[]);
    this.combined = state.combined as number;
  }

  /** Moves the combined watermark to `watermark` when it is ahead (a source-declared watermark). */
  advanceTo(watermark: number): void {
    if (watermark > this.combined) this.combined = watermark;
  }

  /** Re-evaluates idleness (call on idle ticks); `idlePartitions` are the ones the source reports idle. */
  refresh(wallNow: number, idlePartitions?: readonly (string | number)[]): void {
    if (idlePartitions) this.idleBySource = new Set(idlePartitions);
    this.recompute(wallNow);
  }

  private recompute(wallNow: number): void {
    let min = Infinity;
    for (const [partition, state] of this.partitions) {
      if (this.idleBySource.has(partition)) continue;
      if (this.idleTimeoutMs !== undefined && wallNow - state.lastSeen >= this.idleTimeoutMs) continue;
      if (state.maxEventTime < min) min = state.maxEventTime;
    }
    if (min !== Infinity && min - 1 > this.combined) this.combined = min - 1;
  }
}

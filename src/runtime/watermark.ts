interface PartitionState {
  maxEventTime: number;
  lastSeen: number;
}

/**
 * Watermarks per source partition (max event time − 1 ms), combined by minimum over partitions that are
 * not idle. A partition is idle when the source says so or, with `partitionIdleTimeoutMs`, when nothing came
 * from it for that long (wall clock). The combined watermark never goes backwards.
 */
export class WatermarkTracker {
  private readonly partitions = new Map<string | number, PartitionState>();
  private readonly idleTimeoutMs: number | undefined;
  private idleBySource = new Set<string | number>();
  private combined = -Infinity;

  constructor(partitionIdleTimeoutMs: number | undefined) {
    this.idleTimeoutMs = partitionIdleTimeoutMs;
  }

  get current(): number {
    return this.combined;
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

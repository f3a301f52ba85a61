/**
 * Concurrency per `pool_code`: each pool has its own number of delivery slots, so a slow endpoint in one
 * pool cannot take the slots of another.
 */
export class PoolLimits {
  private readonly inFlight = new Map<string, number>();

  private readonly defaultLimit: number;
  private readonly limits: Readonly<Record<string, number>>;

  constructor(defaultLimit: number, limits: Readonly<Record<string, number>> = {}) {
    this.defaultLimit = defaultLimit;
    this.limits = limits;
  }

  limit(pool: string): number {
    return this.limits[pool] ?? this.defaultLimit;
  }

  /** Free slots of `pool` right now. */
  free(pool: string): number {
    return this.limit(pool) - (this.inFlight.get(pool) ?? 0);
  }

  tryAcquire(pool: string): boolean {
    if (this.free(pool) <= 0) return false;
    this.inFlight.set(pool, (this.inFlight.get(pool) ?? 0) + 1);
    return true;
  }

  release(pool: string): void {
    const n = (this.inFlight.get(pool) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(pool);
    else this.inFlight.set(pool, n);
  }

  /** Deliveries in flight, all pools. */
  total(): number {
    let sum = 0;
    for (const n of this.inFlight.values()) sum += n;
    return sum;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.inFlight);
  }
}

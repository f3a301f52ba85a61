/** Token buckets per client: `requestsPerSecond` refill, `burst` capacity. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly requestsPerSecond: number;
  private readonly burst: number;
  private readonly now: () => number;

  constructor(limit: { requestsPerSecond: number; burst: number }, now: () => number = Date.now) {
    this.requestsPerSecond = limit.requestsPerSecond;
    this.burst = limit.burst;
    this.now = now;
  }

  /** Takes one token for `client`: 0 when allowed, else the seconds until one is available. */
  take(client: string): number {
    const now = this.now();
    let bucket = this.buckets.get(client);
    if (!bucket) {
      // Forget full buckets now and then, so that many distinct clients cannot grow the map without end.
      if (this.buckets.size >= 10_000) this.sweep(now);
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(client, bucket);
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.requestsPerSecond);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.requestsPerSecond));
  }

  private sweep(now: number): void {
    for (const [client, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.requestsPerSecond >= this.burst)
        this.buckets.delete(client);
    }
  }
}

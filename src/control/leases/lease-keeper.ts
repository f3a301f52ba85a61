import { LeaseLostError, type Lease, type LeaseStore } from "./lease.ts";

export interface LeaseKeeperOptions {
  readonly store: LeaseStore;
  readonly resource: string;
  /** This instance's id. */
  readonly owner: string;
  /** How long a lease lasts without renewal; a standby takes over at most this long after the holder dies. */
  readonly ttlMs: number;
  /** How often the holder renews and a standby retries; default a third of the TTL. */
  readonly intervalMs?: number;
  /**
   * How often a standby retries at most (default `intervalMs`): shorter where the holder is known to be
   * handing the lease over (a partition the group moved here), so it is taken soon after its release.
   */
  readonly retryMs?: number;
  /** Called once each time this instance becomes the holder (start the work here). */
  readonly onAcquired: (lease: Lease) => Promise<void> | void;
  /** Called when the lease is lost or can no longer be confirmed (stop the work at once, no final writes). */
  readonly onLost: (error: LeaseLostError) => Promise<void> | void;
  /** Store errors while standing by or renewing (logged by the caller; the keeper keeps trying). */
  readonly onError?: (error: unknown) => void;
  readonly now?: () => number;
}

/** The shortest wait of a standby between two tries. */
const MIN_RETRY_MS = 20;

/**
 * Holds one lease for as long as it can: a standby keeps trying to take it; the holder renews it and,
 * when a renewal fails or the store cannot be reached until just before expiry, gives the work up before
 * any other instance may start it.
 *
 * A standby tries again every `retryMs`, or at the holder's expiry when that comes first: a dead holder's
 * lease is taken the moment it lapses, not up to a retry interval later (docs/scale-out.md, "Joining").
 */
export class LeaseKeeper {
  private readonly options: LeaseKeeperOptions;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private lease: Lease | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private busy: Promise<void> = Promise.resolve();

  constructor(options: LeaseKeeperOptions) {
    this.options = options;
    this.intervalMs = options.intervalMs ?? Math.max(50, Math.floor(options.ttlMs / 3));
    this.now = options.now ?? Date.now;
  }

  /** The lease while this instance holds it. */
  current(): Lease | undefined {
    return this.lease;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops trying; a held lease is released so a standby can take over without waiting for expiry. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.busy;
    const lease = this.lease;
    this.lease = undefined;
    if (lease) await this.options.store.release(lease).catch((error) => this.options.onError?.(error));
  }

  /**
   * Confirms with the store that this instance still holds the lease (renewing it), right before a write
   * that must not come from a stale holder such as a checkpoint. Throws LeaseLostError otherwise.
   */
  async confirm(): Promise<Lease> {
    const lease = this.lease;
    if (!lease) throw new Error(`not holding the lease on ${this.options.resource}`);
    const renewed = await this.options.store.renew(lease, this.options.ttlMs);
    if (!renewed) {
      const error = new LeaseLostError(lease);
      await this.lose(error);
      throw error;
    }
    this.lease = renewed;
    return renewed;
  }

  /**
   * A write fenced by this lease's token was refused: a newer token claimed the record although the lease
   * looked ours. Gives the work up as a failed renewal does (`onLost`), then releases the lease if it is
   * still ours (a holder taking it again gets a new, higher token; one that merely re-acquired it would keep
   * the refused one).
   */
  async fencedOut(): Promise<void> {
    const lease = this.lease;
    if (!lease) return;
    await this.lose(new LeaseLostError(lease));
    await this.options.store.release(lease).catch((error) => this.options.onError?.(error));
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.busy = this.tick().then((next) => this.schedule(next));
    }, delayMs);
    this.timer.unref();
  }

  /** One renewal or one try; resolves to the delay before the next. */
  private async tick(): Promise<number> {
    const { store, resource, owner, ttlMs } = this.options;
    const held = this.lease;
    try {
      if (held) {
        const renewed = await store.renew(held, ttlMs);
        if (renewed) this.lease = renewed;
        else await this.lose(new LeaseLostError(held));
        return this.intervalMs;
      }
      const acquired = await store.tryAcquire(resource, owner, ttlMs);
      if (!acquired) return await this.untilNextTry();
      if (!this.running) {
        // Stopped while trying: give it back at once rather than leave it held until it expires.
        await store.release(acquired);
        return this.intervalMs;
      }
      this.lease = acquired;
      await this.options.onAcquired(acquired);
    } catch (error) {
      this.options.onError?.(error);
      // Without a successful renewal, stop working while the lease is still ours, before anyone may take it.
      if (held && this.now() >= held.expiresAt - this.intervalMs) await this.lose(new LeaseLostError(held));
    }
    return this.intervalMs;
  }

  /** A standby's wait: the retry interval, or until the holder's lease expires when that is sooner. */
  private async untilNextTry(): Promise<number> {
    const retry = this.options.retryMs ?? this.intervalMs;
    const holder = await this.options.store.holder(this.options.resource);
    // No holder: released since the try, so try again at once.
    if (!holder) return MIN_RETRY_MS;
    // Expired by this clock but not free: taken meanwhile, or the store's clock is behind (Redis expires on its own).
    const expiresIn = holder.expiresAt - this.now();
    return expiresIn > 0 ? Math.max(MIN_RETRY_MS, Math.min(retry, expiresIn + 1)) : retry;
  }

  private async lose(error: LeaseLostError): Promise<void> {
    if (!this.lease) return;
    this.lease = undefined;
    await this.options.onLost(error);
  }
}

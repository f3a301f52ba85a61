import { ConnectorError } from "../../runtime/errors.ts";

/**
 * Leases decide which `sp serve` instance runs a processor when several share one state store. A lease
 * carries a fencing token that grows every time the lease changes hands, so a holder that was paused
 * past its expiry (GC, SIGSTOP, a slow disk) can tell that a newer holder exists and must not write.
 */
export interface Lease {
  /** What is leased, e.g. `processor/default/solarDemo`. */
  readonly resource: string;
  /** The instance holding it. */
  readonly owner: string;
  /** Fencing token: strictly greater for every new holder of this resource. */
  readonly token: number;
  /** Epoch ms after which other instances may take the lease. */
  readonly expiresAt: number;
}

export interface LeaseStore {
  /**
   * Takes the lease when nobody holds it, the holder's lease expired, or `owner` already holds it.
   * A new holder gets the previous token + 1; a holder re-acquiring keeps its token. Undefined when
   * another instance holds an unexpired lease.
   */
  tryAcquire(resource: string, owner: string, ttlMs: number): Promise<Lease | undefined>;
  /** Extends a lease we hold; undefined when it was lost (expired and taken, or released). */
  renew(lease: Lease, ttlMs: number): Promise<Lease | undefined>;
  /** Gives the lease up at once so a standby need not wait for it to expire. */
  release(lease: Lease): Promise<void>;
  /** The current holder, expired or not (diagnostics); undefined when never taken or released. */
  holder(resource: string): Promise<Lease | undefined>;
  close(): Promise<void>;
}

/**
 * Thrown when an instance finds it no longer holds the lease it was working under. Not retryable: the
 * processor must stop here, since another instance now runs it.
 */
export class LeaseLostError extends ConnectorError {
  override readonly name: string = "LeaseLostError";
  /** `lease`: the lease that was lost; or the whole message. */
  constructor(lease: Lease | string) {
    super(
      typeof lease === "string"
        ? lease
        : `lost the lease on ${lease.resource} (fencing token ${lease.token}): another instance took over; ` +
            "this instance stopped working on it",
      { retryable: false },
    );
  }
}

/**
 * Thrown when the store refused a write fenced by this holder's token: a newer holder of the lease has
 * claimed the record since (this holder was paused past its lease's expiry). Nothing was written. A kind of
 * LeaseLostError: whoever stops on a lost lease stops on this too, and leaves the processor's state alone.
 */
export class FencedWriteError extends LeaseLostError {
  override readonly name = "FencedWriteError";
  readonly token: number;
  constructor(what: string, token: number) {
    super(
      `${what} was not written: a newer holder of its lease claimed it (this holder's fencing token is ` +
        `${token}); this instance stopped working on it`,
    );
    this.token = token;
  }
}

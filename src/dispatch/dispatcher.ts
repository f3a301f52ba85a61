/**
 * The delivery side: POSTs each job's event to its subscription's target with Standard Webhooks headers and
 * records the outcome. Jobs are claimed from the store under a lease, found two ways: offered by the
 * co-located matcher right after it created them (PENDING; claimed by `_id` with the event and subscription
 * in hand, so nothing is searched or read back), and polled for (PENDING and RETRY jobs that are due, and
 * jobs whose dispatcher died). Either way they wait in a bounded in-memory queue per pool for a delivery slot. Per-pool slots bound concurrency, per-target breakers hold back failing endpoints, and
 * failed attempts are rescheduled with back-off (or the receiver's Retry-After) until the last attempt.
 * Results are written behind, in bulk (group commit: while one write is in flight the next batch gathers);
 * a result whose lease was lost (the job cancelled, or reclaimed after this dispatcher stalled) is discarded.
 */
import { randomUUID } from "node:crypto";
import type { Document } from "mongodb";
import type { Logger } from "../runtime/log.ts";
import { nextDelayMs, retryAfterMs, type RetryPolicy } from "./backoff.ts";
import { breakerTarget, CircuitBreakers, type BreakerOptions } from "./circuit-breaker.ts";
import type { DispatchCollections } from "./collections.ts";
import { WebhookPoster } from "./http-post.ts";
import type { AttemptResult, Claimed, HandOver, JobStore, NewJob } from "./job-store.ts";
import type { Metrics } from "./metrics.ts";
import { PoolLimits } from "./pool-limits.ts";
import { ResultWriter } from "./result-writer.ts";
import { secretKey, webhookHeaders } from "./signing.ts";
import type { DispatchJob, EventDoc, SubscriptionDoc } from "./types.ts";

export interface DispatcherOptions {
  readonly collections: DispatchCollections;
  readonly jobs: JobStore;
  /** This instance's id (part of every claim). */
  readonly owner: string;
  readonly retry: RetryPolicy;
  readonly breaker: BreakerOptions;
  /** Concurrent deliveries per pool_code (default for pools not listed). */
  readonly poolConcurrency: number;
  readonly poolLimits?: Readonly<Record<string, number>>;
  /** Deliveries in flight over all pools. */
  readonly maxInFlight: number;
  /** How long one POST may take. */
  readonly timeoutMs: number;
  /** How long a claim lasts: another dispatcher may take a job whose lease expired (its holder died). */
  readonly leaseMs: number;
  /** Pause between polls of the store when no job is due. */
  readonly pollIntervalMs: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** Jobs the matcher creates already claimed by this dispatcher (the opt-in hand-over, see `reserve`). */
export interface Reservation extends HandOver {
  /** How many of the taken jobs are in each pool (the room they hold until `offer` or `release`). */
  readonly pools: ReadonlyMap<string, number>;
}

/** A job just created, offered with what its delivery needs, so nothing is read back. */
export interface NewJobOffer {
  readonly job: DispatchJob;
  readonly event: EventDoc;
  readonly subscription: SubscriptionDoc;
}

/** A claimed job ready to go: its subscription and the webhook body. */
type Ready = { claimed: Claimed; subscription: SubscriptionDoc; body: string };

/** Statuses the receiver may recover from (plus every 5xx and network failure). */
const RETRYABLE_4XX = new Set([408, 409, 425, 429]);
/**
 * Jobs held per pool (queued, reserved or in flight) as a multiple of its delivery slots: the prefetch. A job
 * that could not start while its lease had 1.5 × the timeout left goes back to the store (see `begin`).
 */
const BACKLOG = 8;
/** Jobs handed over under one claim token (see `reserve`). */
const CLAIM_CHUNK = 100;
/** Most jobs claimed from the store in one round trip. */
const CLAIM_BATCH = 500;

export class Dispatcher {
  private readonly poster: WebhookPoster;
  private readonly pools: PoolLimits;
  readonly breakers: CircuitBreakers;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  /** Ends the store-polling loop's wait early (stop, or room freed while it waits for room). */
  private wake: (() => void) | undefined;
  private waitingForRoom = false;
  /** Store polls in a row that found nothing (they back off). */
  private idlePolls = 0;
  private readonly queues = new Map<string, Ready[]>();
  private queued = 0;
  /** Jobs on their way to the queues (reserved for a hand-over, or being claimed after an offer), per pool. */
  private readonly reserved = new Map<string, number>();
  private reservedTotal = 0;
  /** Claims (polls and offers) run one at a time, so they do not compete for the same jobs. */
  private claiming: Promise<unknown> = Promise.resolve();
  private readonly results: ResultWriter;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly keys = new Map<string, Buffer | undefined>();

  private readonly o: DispatcherOptions;

  constructor(options: DispatcherOptions) {
    const o = (this.o = options);
    if (o.leaseMs < 2 * o.timeoutMs) {
      throw new Error(
        `the job lease (${o.leaseMs} ms) must be at least twice the delivery timeout (${o.timeoutMs} ms)`,
      );
    }
    this.poster = new WebhookPoster(o.maxInFlight);
    this.pools = new PoolLimits(o.poolConcurrency, o.poolLimits);
    this.results = new ResultWriter({
      jobs: o.jobs,
      subscriptionStats: o.collections.subscriptionStats,
      logger: o.logger,
    });
    this.breakers = new CircuitBreakers(o.breaker, Date.now, () =>
      o.metrics.set("fc_dispatch_breakers_open", this.breakers.open().length),
    );
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop().catch((error: unknown) => {
      this.o.logger.error("dispatcher stopped", { error: (error as Error).message });
      this.running = false;
    });
  }

  /**
   * Stops claiming, waits for deliveries in flight and writes their results. Queued jobs are put back
   * (RETRY, due now, no attempt counted) for any dispatcher to claim.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loopDone;
    await this.claiming;
    for (const queue of this.queues.values())
      for (const ready of queue.splice(0))
        this.settle(ready.claimed, { status: "DEFERRED", scheduledAt: new Date() });
    this.queued = 0;
    await Promise.all(this.inFlight);
    await this.results.flush();
    this.poster.close();
  }

  get isRunning(): boolean {
    return this.running;
  }

  /**
   * Takes the matcher's new jobs: those handed over at insert (created IN_PROGRESS under a claim of
   * `reservation`) go straight to the queues; of the PENDING ones, those it has room for — none whose
   * target's breaker is not closed — are claimed by `_id` like any claim (another dispatcher may get some
   * first), the rest stay PENDING for any dispatcher's poll. Returns at once; the claim runs in the background.
   */
  offer(created: readonly NewJobOffer[], reservation?: Reservation): void {
    if (reservation) this.release(reservation);
    const bodies = new Map<string, string>();
    const pending: NewJobOffer[] = [];
    for (const offer of created) {
      const { job, event, subscription } = offer;
      if (job.status === "PENDING") pending.push(offer);
      else if (job.status === "IN_PROGRESS" && reservation) {
        const claimed = { job, claim: job.lease_owner as string };
        // Handed over while this dispatcher stopped: back to the store for any dispatcher.
        if (!this.running) this.settle(claimed, { status: "DEFERRED", scheduledAt: new Date() });
        else this.enqueue({ claimed, subscription, body: bodyOf(event, bodies) });
      }
    }
    const { picked, pools } = this.pick(pending.map((p) => p.job));
    if (picked.length > 0) {
      this.holdRoom(pools, 1);
      void this.serially(async () => {
        try {
          const claimed = await this.o.jobs.take(this.o.owner, picked, this.o.leaseMs);
          const offers = new Map(pending.map((p) => [p.job._id, p]));
          for (const claim of claimed) {
            const { event, subscription } = offers.get(claim.job._id) as NewJobOffer;
            this.enqueue({ claimed: claim, subscription, body: bodyOf(event, bodies) });
          }
        } catch (error) {
          this.o.logger.warn("claiming new jobs failed; a poll will find them", {
            error: (error as Error).message,
          });
        } finally {
          this.holdRoom(pools, -1);
          this.pump();
        }
      });
    }
    this.pump();
  }

  /**
   * The opt-in hand-over at insert (FC_DISPATCH_HANDOFF): picks which of the matcher's new jobs this
   * dispatcher takes straight from the insert, as `pick` does; the matcher creates those IN_PROGRESS under the
   * returned claims (JobStore.create, one claim per 100 jobs) and then calls `offer` — or `release` if the
   * insert failed.
   */
  reserve(jobs: readonly NewJob[]): Reservation | undefined {
    const { picked, pools, indexes } = this.pick(jobs);
    if (picked.length === 0) return undefined;
    const taken = new Map<number, string>();
    let claim = "";
    for (const i of indexes) {
      if (taken.size % CLAIM_CHUNK === 0) claim = `${this.o.owner}/${randomUUID()}`;
      taken.set(i, claim);
    }
    this.holdRoom(pools, 1);
    return { taken, expiresAt: new Date(Date.now() + this.o.leaseMs), pools };
  }

  /** Gives back the room of a reservation (when its jobs are offered, or the insert failed). */
  release(reservation: Reservation): void {
    this.holdRoom(reservation.pools, -1);
  }

  /** Which of `jobs` this dispatcher has room for, none whose target's breaker is not closed. */
  private pick<T extends NewJob>(
    jobs: readonly T[],
  ): { picked: T[]; pools: Map<string, number>; indexes: number[] } {
    const picked: T[] = [];
    const indexes: number[] = [];
    const pools = new Map<string, number>();
    if (!this.running) return { picked, pools, indexes };
    let room = BACKLOG * this.o.maxInFlight - this.held();
    for (let i = 0; i < jobs.length && room > 0; i++) {
      const { pool_code: pool, target } = jobs[i];
      const taken = pools.get(pool) ?? 0;
      if (this.poolRoom(pool) - taken <= 0) continue;
      if (this.breakers.state(breakerTarget(target)) !== "CLOSED") continue;
      picked.push(jobs[i]);
      indexes.push(i);
      pools.set(pool, taken + 1);
      room--;
    }
    return { picked, pools, indexes };
  }

  /** Adds (`sign` 1) or gives back (-1) the room of jobs on their way to the queues (reserved or being claimed). */
  private holdRoom(pools: ReadonlyMap<string, number>, sign: 1 | -1): void {
    for (const [pool, n] of pools) {
      const left = (this.reserved.get(pool) ?? 0) + sign * n;
      if (left > 0) this.reserved.set(pool, left);
      else this.reserved.delete(pool);
      this.reservedTotal += sign * n;
    }
  }

  private serially<T>(claim: () => Promise<T>): Promise<T> {
    const result = this.claiming.then(claim);
    this.claiming = result.catch(() => undefined);
    return result;
  }

  /** Jobs held: queued, reserved, in flight. */
  private held(): number {
    return this.queued + this.reservedTotal + this.pools.total();
  }

  /** How many more jobs `pool` may hold. */
  private poolRoom(pool: string): number {
    const limit = this.pools.limit(pool);
    const inFlight = limit - this.pools.free(pool);
    return BACKLOG * limit - inFlight - (this.queues.get(pool)?.length ?? 0) - (this.reserved.get(pool) ?? 0);
  }

  /**
   * Polls the store for due jobs while there is room; offered jobs need no polling. Polls that find nothing
   * back off from `pollIntervalMs` to 10 × that (each is a query on the jobs collection); a poll that finds
   * jobs, or a result this dispatcher schedules for later (RETRY, DEFERRED), brings the interval back.
   */
  private async loop(): Promise<void> {
    while (this.running) {
      const room = Math.min(CLAIM_BATCH, BACKLOG * this.o.maxInFlight - this.held());
      if (room <= 0) {
        await this.sleep(1000, true);
        continue;
      }
      const pools = new Set([...this.queues.keys(), ...Object.keys(this.pools.snapshot())]);
      const claimed = await this.claim(
        room,
        [...pools].filter((p) => this.poolRoom(p) <= 0),
      );
      if (claimed >= room) continue;
      this.idlePolls = claimed > 0 ? 0 : this.idlePolls + 1;
      await this.sleep(this.o.pollIntervalMs * Math.min(10, 2 ** Math.max(0, this.idlePolls - 1)), false);
    }
  }

  /** Claims due jobs from the store, reads their events and subscriptions, queues them. Returns how many. */
  private async claim(limit: number, fullPools: string[]): Promise<number> {
    let claimed: Claimed[];
    try {
      claimed = await this.serially(() => this.o.jobs.claim(this.o.owner, limit, this.o.leaseMs, fullPools));
    } catch (error) {
      this.o.logger.warn("claiming jobs failed; retrying", { error: (error as Error).message });
      return 0;
    }
    if (claimed.length === 0) return 0;
    let events: Map<string, EventDoc>;
    let subscriptions: Map<string, SubscriptionDoc>;
    try {
      [events, subscriptions] = await Promise.all([
        this.byId<EventDoc>(
          this.o.collections.events,
          claimed.map((c) => c.job.event_id),
        ),
        this.byId<SubscriptionDoc>(
          this.o.collections.subscriptions,
          claimed.map((c) => c.job.subscription_id),
        ),
      ]);
    } catch (error) {
      // The claimed jobs go back to the store (due now, no attempt counted).
      this.o.logger.warn("reading claimed jobs' events failed; putting them back", {
        error: (error as Error).message,
      });
      for (const claim of claimed) this.settle(claim, { status: "DEFERRED", scheduledAt: new Date() });
      return claimed.length;
    }
    const bodies = new Map<string, string>();
    for (const claim of claimed) {
      const { job } = claim;
      const event = events.get(String(job.event_id));
      const subscription = subscriptions.get(String(job.subscription_id));
      if (!event || !subscription) {
        const missing = event
          ? `subscription ${String(job.subscription_id)}`
          : `event ${String(job.event_id)}`;
        this.settle(claim, { status: "FAILED", error: `${missing} no longer exists` });
        continue;
      }
      this.enqueue({ claimed: claim, subscription, body: bodyOf(event, bodies) });
    }
    this.pump();
    return claimed.length;
  }

  private enqueue(ready: Ready): void {
    const pool = ready.claimed.job.pool_code;
    let queue = this.queues.get(pool);
    if (!queue) this.queues.set(pool, (queue = []));
    queue.push(ready);
    this.queued++;
  }

  /** Starts queued jobs while their pools have free slots. */
  private pump(): void {
    for (const [pool, queue] of this.queues) {
      while (queue.length > 0 && this.pools.total() < this.o.maxInFlight && this.pools.tryAcquire(pool)) {
        this.queued--;
        this.begin(queue.shift() as Ready);
      }
      if (queue.length === 0) this.queues.delete(pool);
    }
    this.o.metrics.set("fc_dispatch_in_flight", this.pools.total());
    this.o.metrics.set("fc_dispatch_queued", this.queued);
  }

  /** Delivers a job whose pool slot is taken, unless its lease is too short or its target's breaker is open. */
  private begin({ claimed, subscription, body }: Ready): void {
    const { job } = claimed;
    const leaseLeft = (job.lease_expires_at?.getTime() ?? 0) - Date.now();
    // The POST must end well inside the lease, or another dispatcher could deliver the job at the same time.
    if (leaseLeft < 1.5 * this.o.timeoutMs) {
      this.pools.release(job.pool_code);
      this.settle(claimed, { status: "DEFERRED", scheduledAt: new Date() });
      return;
    }
    const target = breakerTarget(job.target);
    const admission = this.breakers.admit(target);
    if (!admission.allowed) {
      this.pools.release(job.pool_code);
      this.o.metrics.inc("fc_dispatch_outcomes_total", 1, { outcome: "breaker_open" });
      this.settle(claimed, { status: "DEFERRED", scheduledAt: new Date(admission.retryAt) });
      return;
    }
    const delivery = this.deliver(claimed, subscription, body, target).finally(() => {
      this.inFlight.delete(delivery);
      this.pools.release(job.pool_code);
      this.pump();
      if (this.waitingForRoom) this.wake?.();
    });
    this.inFlight.add(delivery);
  }

  private async deliver(
    claim: Claimed,
    subscription: SubscriptionDoc,
    body: string,
    target: string,
  ): Promise<void> {
    const { job } = claim;
    const attempt = job.attempts + 1;
    const labels = { pool: job.pool_code };
    this.o.metrics.inc("fc_dispatch_attempts_total", 1, labels);
    const started = performance.now();
    let result: AttemptResult;
    try {
      // The job id is the webhook-id: the same on every retry, so receivers can deduplicate.
      const headers = webhookHeaders(this.keyOf(subscription), job._id, body);
      const response = await this.poster.post(job.target, body, headers, this.o.timeoutMs);
      this.o.metrics.observe(
        "fc_dispatch_delivery_duration_seconds",
        (performance.now() - started) / 1000,
        labels,
      );
      if (response.status >= 200 && response.status < 300) {
        this.breakers.succeeded(target);
        result = { status: "DELIVERED", statusCode: response.status };
      } else {
        const error = `HTTP ${response.status} from ${job.target}`;
        const retryable =
          response.status >= 300 &&
          !(response.status < 500 && response.status >= 400 && !RETRYABLE_4XX.has(response.status));
        if (retryable) this.breakers.failed(target);
        else this.breakers.succeeded(target); // the endpoint answered; the request itself is refused
        const header = response.headers["retry-after"];
        result = this.retryOrFail(
          attempt,
          error,
          retryable,
          retryAfterMs(Array.isArray(header) ? header[0] : header),
          response.status,
        );
      }
    } catch (error) {
      this.breakers.failed(target);
      result = this.retryOrFail(attempt, `${(error as Error).message} (${job.target})`, true, undefined);
    }
    this.o.metrics.inc("fc_dispatch_outcomes_total", 1, { outcome: result.status.toLowerCase() });
    this.settle(claim, result);
  }

  private retryOrFail(
    attempt: number,
    error: string,
    retryable: boolean,
    retryAfter: number | undefined,
    statusCode?: number,
  ): AttemptResult {
    const code = statusCode === undefined ? {} : { statusCode };
    if (!retryable) return { status: "FAILED", error, ...code };
    if (attempt >= this.o.retry.maxAttempts)
      return { status: "FAILED", error: `${error}; gave up after ${attempt} attempts`, ...code };
    const delay = nextDelayMs(this.o.retry, attempt, retryAfter);
    return { status: "RETRY", scheduledAt: new Date(Date.now() + delay), error, ...code };
  }

  private keyOf(subscription: SubscriptionDoc): Buffer | undefined {
    const id = String(subscription._id);
    if (this.keys.has(id)) return this.keys.get(id);
    let key: Buffer | undefined;
    if (typeof subscription.secret === "string" && subscription.secret !== "") {
      try {
        key = secretKey(subscription.secret);
      } catch (error) {
        this.o.logger.warn("subscription secret unusable; sending unsigned", {
          subscriptionId: id,
          error: (error as Error).message,
        });
      }
    }
    if (this.keys.size > 10_000) this.keys.clear();
    this.keys.set(id, key);
    return key;
  }

  private settle(claimed: Claimed, result: AttemptResult): void {
    this.results.add(claimed, result);
    // The job comes back due later: poll at the normal pace again.
    if (result.status === "RETRY" || result.status === "DEFERRED") this.idlePolls = 0;
  }

  private async byId<T extends { _id: unknown }>(
    collection: DispatchCollections["events"] | DispatchCollections["subscriptions"],
    ids: readonly unknown[],
  ): Promise<Map<string, T>> {
    const unique = [...new Map(ids.map((id) => [String(id), id])).values()];
    const docs = (await collection.find({ _id: { $in: unique } } as Document).toArray()) as unknown as T[];
    return new Map(docs.map((d) => [String(d._id), d]));
  }

  /** Waits `ms` (stop() ends the wait); with `untilRoom`, so does a finished delivery, which frees room. */
  private sleep(ms: number, untilRoom: boolean): Promise<void> {
    this.waitingForRoom = untilRoom;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        this.waitingForRoom = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}

/** The webhook body of `event`, serialized once per batch of jobs (`bodies`, by event id). */
function bodyOf(event: EventDoc, bodies: Map<string, string>): string {
  const id = String(event._id);
  let body = bodies.get(id);
  if (body === undefined) bodies.set(id, (body = webhookBody(event)));
  return body;
}

/** The webhook body: the event as JSON, its `_id` as `id`. */
export function webhookBody(event: EventDoc): string {
  const { _id, ...rest } = event;
  return JSON.stringify({ id: String(_id), ...rest });
}

/**
 * The delivery side: claims due jobs under a lease, POSTs each event to its subscription's target with
 * Standard Webhooks headers, and records the outcome. Per-pool slots bound concurrency, per-target breakers
 * hold back failing endpoints, and failed attempts are rescheduled with back-off (or the receiver's
 * Retry-After) until the last attempt. Results are written in bulk; a result whose lease was lost (the job
 * cancelled, or reclaimed after this dispatcher stalled) is discarded.
 */
import type { AnyBulkWriteOperation, Document } from "mongodb";
import type { LeaseStore } from "../control/leases/lease.ts";
import type { Logger } from "../runtime/log.ts";
import { nextDelayMs, retryAfterMs, type RetryPolicy } from "./backoff.ts";
import { breakerTarget, CircuitBreakers, type BreakerOptions } from "./circuit-breaker.ts";
import type { DispatchCollections, ReadModelDoc } from "./collections.ts";
import { WebhookPoster } from "./http-post.ts";
import type { AttemptResult, Claimed, JobStore } from "./job-store.ts";
import type { Metrics } from "./metrics.ts";
import { PoolLimits } from "./pool-limits.ts";
import { secretKey, webhookHeaders } from "./signing.ts";
import type { EventDoc, SubscriptionDoc } from "./types.ts";

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
  /** Serializes claims between dispatchers (see JobStore.claim); without it claims rely on per-document atomic updates. */
  readonly claimLock?: LeaseStore;
  /** Pause between polls when no job is due. */
  readonly pollIntervalMs: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

type Outcome = { claimed: Claimed; result: AttemptResult; at: Date };

/** Statuses the receiver may recover from (plus every 5xx and network failure). */
const RETRYABLE_4XX = new Set([408, 409, 425, 429]);

export class Dispatcher {
  private readonly poster: WebhookPoster;
  private readonly pools: PoolLimits;
  readonly breakers: CircuitBreakers;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  private pending: Outcome[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | undefined;
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

  /** Stops claiming, waits for deliveries in flight and writes their results. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loopDone;
    await Promise.all(this.inFlight);
    await this.flush();
    this.poster.close();
  }

  get isRunning(): boolean {
    return this.running;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const free = this.o.maxInFlight - this.pools.total();
      const fullPools = Object.keys(this.pools.snapshot()).filter((p) => this.pools.free(p) <= 0);
      const claimed = free > 0 ? await this.claim(free, fullPools) : [];
      if (claimed.length === 0) await this.sleep(free > 0 ? this.o.pollIntervalMs : 1000);
    }
  }

  private async claim(free: number, fullPools: string[]): Promise<Claimed[]> {
    let claimed: Claimed[];
    try {
      claimed = await this.o.jobs.claim(
        this.o.owner,
        Math.min(free, 500),
        this.o.leaseMs,
        fullPools,
        this.o.claimLock,
      );
    } catch (error) {
      this.o.logger.warn("claiming jobs failed; retrying", { error: (error as Error).message });
      return [];
    }
    if (claimed.length === 0) return claimed;
    const [events, subscriptions] = await Promise.all([
      this.byId<EventDoc>(
        this.o.collections.events,
        claimed.map((c) => c.job.event_id),
      ),
      this.byId<SubscriptionDoc>(
        this.o.collections.subscriptions,
        claimed.map((c) => c.job.subscription_id),
      ),
    ]);
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
      if (!this.pools.tryAcquire(job.pool_code)) {
        this.settle(claim, { status: "DEFERRED", scheduledAt: new Date() }, false);
        continue;
      }
      const target = breakerTarget(job.target);
      const admission = this.breakers.admit(target);
      if (!admission.allowed) {
        this.pools.release(job.pool_code);
        this.o.metrics.inc("fc_dispatch_outcomes_total", 1, { outcome: "breaker_open" });
        this.settle(claim, { status: "DEFERRED", scheduledAt: new Date(admission.retryAt) }, false);
        continue;
      }
      let body = bodies.get(String(event._id));
      if (body === undefined) bodies.set(String(event._id), (body = webhookBody(event)));
      const delivery = this.deliver(claim, subscription, body, target).finally(() => {
        this.inFlight.delete(delivery);
        this.pools.release(job.pool_code);
        this.o.metrics.set("fc_dispatch_in_flight", this.pools.total());
        this.wake?.();
      });
      this.inFlight.add(delivery);
    }
    this.o.metrics.set("fc_dispatch_in_flight", this.pools.total());
    return claimed;
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

  /** Queues a result for the next bulk write (at most a few ms away). */
  private settle(claimed: Claimed, result: AttemptResult, wake = true): void {
    this.pending.push({ claimed, result, at: new Date() });
    if (this.pending.length >= 200) void this.flush();
    else this.flushTimer ??= setTimeout(() => void this.flush(), 5);
    if (wake) this.wake?.();
  }

  private flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(() => this.write(batch));
    return this.flushing;
  }

  private async write(batch: Outcome[]): Promise<void> {
    if (batch.length === 0) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.o.jobs.record(batch);
        break;
      } catch (error) {
        // Unrecorded results are not lost work: the jobs' leases expire and they are delivered again (same webhook-id).
        if (attempt >= 3) {
          this.o.logger.error(
            "could not record delivery results; the jobs will be retried after their lease",
            {
              jobs: batch.length,
              error: (error as Error).message,
            },
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
    await this.updateStats(batch).catch((error: unknown) =>
      this.o.logger.warn("subscription statistics not updated", { error: (error as Error).message }),
    );
  }

  private async updateStats(batch: Outcome[]): Promise<void> {
    const counts = new Map<string, { delivered: number; failed: number }>();
    for (const { claimed, result } of batch) {
      if (result.status !== "DELIVERED" && result.status !== "FAILED") continue;
      const id = String(claimed.job.subscription_id);
      const c = counts.get(id) ?? { delivered: 0, failed: 0 };
      if (result.status === "DELIVERED") c.delivered++;
      else c.failed++;
      counts.set(id, c);
    }
    if (counts.size === 0) return;
    const ops: AnyBulkWriteOperation<ReadModelDoc>[] = [...counts].map(([id, c]) => ({
      updateOne: { filter: { _id: id }, update: { $inc: c, $set: { updated_at: new Date() } }, upsert: true },
    }));
    await this.o.collections.subscriptionStats.bulkWrite(ops, { ordered: false });
  }

  private async byId<T extends { _id: unknown }>(
    collection: DispatchCollections["events"] | DispatchCollections["subscriptions"],
    ids: readonly unknown[],
  ): Promise<Map<string, T>> {
    const unique = [...new Map(ids.map((id) => [String(id), id])).values()];
    const docs = (await collection.find({ _id: { $in: unique } } as Document).toArray()) as unknown as T[];
    return new Map(docs.map((d) => [String(d._id), d]));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}

/** The webhook body: the event as JSON, its `_id` as `id`. */
export function webhookBody(event: EventDoc): string {
  const { _id, ...rest } = event;
  return JSON.stringify({ id: String(_id), ...rest });
}

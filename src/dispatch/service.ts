/**
 * The dispatch service: matcher (one active instance, standbys through Eddy's leases) plus dispatcher (any
 * number of instances: jobs are claimed under leases), with `/metrics` and `/health` on FC_METRICS_PORT.
 * `examples/event-dispatch/run.ts` and `sp serve` (when FC_MONGO_URL is set) start it.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { LeaseKeeper } from "../control/leases/lease-keeper.ts";
import { MongoLeaseStore } from "../control/leases/mongo-lease-store.ts";
import { openStateStore } from "../control/open-state-store.ts";
import type { StateStore } from "../control/state-store.ts";
import type { Logger } from "../runtime/log.ts";
import type { ProcessorStats } from "../runtime/stats.ts";
import { dispatchCollections, ensureIndexes, type DispatchCollections } from "./collections.ts";
import type { DispatchConfig } from "./config.ts";
import { Dispatcher } from "./dispatcher.ts";
import { ErrorRates, type DispatchHealth } from "./health.ts";
import { JobStore } from "./job-store.ts";
import { Matcher, ResumeTokenLostError } from "./matcher.ts";
import { MatcherStats } from "./matcher-stats.ts";
import { Metrics } from "./metrics.ts";
import { SubscriptionCache } from "./subscription-cache.ts";
import type { JobStatus } from "./types.ts";

/** The matcher's stats under ASP's names (a processor named flowcatalyst-matcher), and the jobs by status. */
export interface DispatchStats {
  readonly matcher: ProcessorStats;
  readonly jobs: Readonly<Record<JobStatus, number>>;
}

/** What the API serves of a running dispatch service. */
export interface DispatchApi {
  readonly jobs: JobStore;
  stats(options?: { verbose?: boolean; scale?: number }): Promise<DispatchStats>;
}

const PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

export class DispatchService implements DispatchApi {
  readonly metrics = new Metrics();
  readonly jobs: JobStore;
  readonly collections: DispatchCollections;
  private readonly matcherStats: MatcherStats;
  /** The metrics/health server's URL, when FC_METRICS_PORT is set. */
  metricsUrl: string | undefined;
  private readonly config: DispatchConfig;
  private readonly logger: Logger;
  private readonly client: MongoClient;
  private readonly positions: StateStore;
  private readonly rates: ErrorRates;
  private readonly owner = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private matcher: Matcher | undefined;
  private subscriptions: SubscriptionCache | undefined;
  private keeper: LeaseKeeper | undefined;
  private dispatcher: Dispatcher | undefined;
  private server: Server | undefined;
  private matcherError: string | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private onMatcherStarted: (() => void) | undefined;

  private constructor(config: DispatchConfig, logger: Logger, client: MongoClient, positions: StateStore) {
    this.config = config;
    this.logger = logger;
    this.client = client;
    this.positions = positions;
    this.collections = dispatchCollections(client.db(config.db));
    this.jobs = new JobStore(this.collections);
    this.matcherStats = new MatcherStats(this.collections.deadLetters);
    this.matcherStats.status = config.matcher ? "standby" : "stopped";
    this.rates = new ErrorRates(this.metrics);
  }

  static async start(config: DispatchConfig, logger: Logger): Promise<DispatchService> {
    const client = new MongoClient(config.mongoUrl);
    await client.connect();
    let positions: StateStore | undefined;
    try {
      positions = await openStateStore({
        dataDir: join(config.dataDir, "dispatch"),
        stateUri: config.redisUrl,
      });
      const service = new DispatchService(config, logger, client, positions);
      await ensureIndexes(service.collections);
      await service.run();
      return service;
    } catch (error) {
      await positions?.close().catch(() => undefined);
      await client.close();
      throw error;
    }
  }

  private async run(): Promise<void> {
    const c = this.config;
    if (c.metricsPort !== undefined) await this.listen(c.metricsPort);
    if (c.dispatcher) {
      this.dispatcher = new Dispatcher({
        collections: this.collections,
        jobs: this.jobs,
        owner: this.owner,
        retry: c.retry,
        breaker: c.breaker,
        poolConcurrency: c.poolConcurrency,
        poolLimits: c.poolLimits,
        maxInFlight: c.maxInFlight,
        timeoutMs: c.timeoutMs,
        leaseMs: c.jobLeaseMs,
        pollIntervalMs: c.pollIntervalMs,
        metrics: this.metrics,
        logger: this.logger,
      });
      this.dispatcher.start();
    }
    if (c.matcher) {
      // One matcher per events stream: standbys wait on the lease and take over when the holder dies.
      this.keeper = new LeaseKeeper({
        store: this.leaseStore(),
        resource: `dispatch/matcher/${c.resumeTokenKey}`,
        owner: this.owner,
        ttlMs: c.leaseTtlMs,
        onAcquired: () => this.startMatcher(),
        onLost: (error) => {
          this.logger.warn(
            "matcher lost its lease: stopping; it restarts if this instance takes the lease again",
            {
              error: error.message,
            },
          );
          return this.stopMatcher();
        },
        onError: (error) =>
          this.logger.warn("matcher lease store error", { error: (error as Error).message }),
      });
      this.keeper.start();
      // Report "started" once the matcher reads the stream (or, as a standby, after a short wait): events
      // written after that point are matched even on a first start without a saved token.
      await Promise.race([
        new Promise<void>((resolve) => (this.onMatcherStarted = resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, Math.min(2000, c.leaseTtlMs)).unref()),
      ]);
    }
  }

  /** Leases in the FlowCatalyst database itself (collection fc_leases): no other server to configure. */
  private leaseStore(): MongoLeaseStore {
    return new MongoLeaseStore(this.client, { db: this.config.db, collection: "fc_leases" });
  }

  private async startMatcher(): Promise<void> {
    if (this.closed || this.matcher) return;
    this.logger.info("matcher is the leader: starting", { owner: this.owner });
    const subscriptions = new SubscriptionCache(this.collections.subscriptions, this.logger);
    const matcher = new Matcher({
      client: this.client,
      db: this.config.db,
      collections: this.collections,
      subscriptions,
      jobs: this.jobs,
      ...(this.dispatcher && (this.config.offerNewJobs || this.config.handOver)
        ? { offerTo: this.dispatcher, handOver: this.config.handOver }
        : {}),
      positions: this.positions,
      resumeTokenKey: this.config.resumeTokenKey,
      batchSize: this.config.batchSize,
      invalidTokenPolicy: this.config.invalidTokenPolicy,
      metrics: this.metrics,
      stats: this.matcherStats,
      logger: this.logger,
    });
    this.subscriptions = subscriptions;
    this.matcher = matcher;
    try {
      await subscriptions.start();
      this.metrics.set("fc_stream_subscriptions_active", subscriptions.size);
      await matcher.start();
      this.matcherError = undefined;
      this.matcherStats.status = "running";
      this.onMatcherStarted?.();
    } catch (error) {
      await this.onMatcherFailure(error as Error);
      return;
    }
    matcher.done.then(
      () => undefined,
      (error: unknown) => this.onMatcherFailure(error as Error),
    );
  }

  /** A failed matcher restarts from its saved token after a pause, unless the token policy says to stop. */
  private async onMatcherFailure(error: Error): Promise<void> {
    this.matcherError = error.message;
    this.matcherStats.status = "failed";
    this.metrics.inc("fc_stream_errors_total", 1, { kind: "matcher" });
    this.logger.error("matcher failed", { error: error.message });
    await this.stopMatcher();
    if (error instanceof ResumeTokenLostError || this.closed) return;
    this.restartTimer = setTimeout(() => {
      if (this.keeper?.current()) void this.startMatcher();
    }, 2000);
    this.restartTimer.unref();
  }

  private async stopMatcher(): Promise<void> {
    const { matcher, subscriptions } = this;
    if (matcher && this.matcherError === undefined)
      this.matcherStats.status = this.closed ? "stopped" : "standby";
    this.matcher = undefined;
    this.subscriptions = undefined;
    await matcher?.stop().catch(() => undefined);
    await subscriptions?.close();
  }

  /** The matcher's stats under ASP's names, and the jobs by status. */
  async stats(options: { verbose?: boolean; scale?: number } = {}): Promise<DispatchStats> {
    return { matcher: this.matcherStats.snapshot(options), jobs: await this.jobs.countByStatus() };
  }

  health(): DispatchHealth {
    const matcherHealth = this.matcher?.health();
    const role = !this.config.matcher
      ? "disabled"
      : this.matcher
        ? "leader"
        : this.keeper?.current() || this.matcherError
          ? "stopped"
          : "standby";
    const rates = this.rates.rates();
    const openBreakers = this.dispatcher?.breakers.open().map((b) => b.target) ?? [];
    const streamOk = role !== "leader" || matcherHealth?.connected === true;
    const healthy =
      streamOk &&
      role !== "stopped" &&
      rates.matcher < 0.5 &&
      (!this.config.dispatcher || this.dispatcher?.isRunning === true);
    return {
      status: healthy ? "ok" : "degraded",
      matcher: {
        role,
        changeStreamConnected: matcherHealth?.connected ?? false,
        lagSeconds: matcherHealth?.lagSeconds ?? null,
        subscriptions: this.subscriptions?.size ?? 0,
        ...(this.matcherError ? { error: this.matcherError } : {}),
      },
      dispatcher: {
        running: this.dispatcher?.isRunning ?? false,
        inFlight: this.metrics.total("fc_dispatch_in_flight"),
        openBreakers,
      },
      errorRate: rates,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    await this.keeper?.stop();
    await this.stopMatcher();
    await this.dispatcher?.stop();
    this.rates.close();
    if (this.server) await new Promise<void>((resolve) => this.server?.close(() => resolve()));
    await this.positions.close().catch(() => undefined);
    await this.client.close();
  }

  private async listen(port: number): Promise<void> {
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://localhost").pathname;
      if (req.method === "GET" && path === "/metrics") {
        res.writeHead(200, { "content-type": PROMETHEUS_TEXT }).end(this.metrics.render());
      } else if (req.method === "GET" && path === "/health") {
        const health = this.health();
        res
          .writeHead(health.status === "ok" ? 200 : 503, { "content-type": "application/json" })
          .end(JSON.stringify(health));
      } else {
        res
          .writeHead(404, { "content-type": "application/json" })
          .end(
            JSON.stringify({ error: "NOT_FOUND", detail: "this port serves GET /metrics and GET /health" }),
          );
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, this.config.metricsHost, () => resolve());
    });
    this.server = server;
    const { port: bound } = server.address() as AddressInfo;
    this.metricsUrl = `http://${this.config.metricsHost}:${bound}`;
  }
}

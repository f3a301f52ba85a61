/**
 * Configuration of the dispatch service from the environment, under the original FlowCatalyst names where
 * they exist (`FC_*`); every value is checked and a bad one is named with what was expected.
 */
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./backoff.ts";
import { DEFAULT_BREAKER_OPTIONS, type BreakerOptions } from "./circuit-breaker.ts";
import type { InvalidTokenPolicy } from "./matcher.ts";

export interface DispatchConfig {
  readonly mongoUrl: string;
  readonly db: string;
  /** 0 picks a free port; undefined: no metrics server. */
  readonly metricsPort: number | undefined;
  readonly metricsHost: string;
  readonly batchSize: number;
  readonly resumeTokenKey: string;
  /** Where resume tokens live: Redis when set, else files under `dataDir`. */
  readonly redisUrl: string | undefined;
  readonly dataDir: string;
  readonly invalidTokenPolicy: InvalidTokenPolicy;
  readonly matcher: boolean;
  readonly dispatcher: boolean;
  readonly retry: RetryPolicy;
  readonly breaker: BreakerOptions;
  readonly poolConcurrency: number;
  readonly poolLimits: Readonly<Record<string, number>>;
  readonly maxInFlight: number;
  readonly timeoutMs: number;
  readonly jobLeaseMs: number;
  readonly pollIntervalMs: number;
  /** The matcher offers its new (PENDING) jobs to the dispatcher of its own process, which claims them by `_id`. */
  readonly offerNewJobs: boolean;
  /**
   * Opt-in: the jobs the co-located dispatcher has room for are created already claimed (IN_PROGRESS; the
   * insert is the claim) instead of PENDING. Implies offers.
   */
  readonly handOver: boolean;
  /** Matcher standby: how long a dead matcher's lease lasts before a standby takes over. */
  readonly leaseTtlMs: number;
}

export class DispatchConfigError extends Error {
  override readonly name = "DispatchConfigError";
}

export function dispatchConfigFromEnv(env: NodeJS.ProcessEnv = process.env): DispatchConfig {
  const int = (name: string, fallback: number, min = 0): number => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min) {
      throw new DispatchConfigError(`${name} must be an integer ≥ ${min}, got '${raw}'`);
    }
    return Number(raw);
  };
  const num = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0)
      throw new DispatchConfigError(`${name} must be a number ≥ 0, got '${raw}'`);
    return value;
  };
  const flag = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    if (!["true", "false", "1", "0"].includes(raw))
      throw new DispatchConfigError(`${name} must be true or false, got '${raw}'`);
    return raw === "true" || raw === "1";
  };
  const policy = env.FC_STREAM_INVALID_TOKEN_POLICY ?? "start-from-now";
  if (policy !== "start-from-now" && policy !== "fail") {
    throw new DispatchConfigError(
      `FC_STREAM_INVALID_TOKEN_POLICY must be 'start-from-now' or 'fail', got '${policy}'`,
    );
  }
  const timeoutMs = int("FC_DISPATCH_TIMEOUT_MS", 10_000, 1);
  const metricsPort = env.FC_METRICS_PORT === "off" ? undefined : int("FC_METRICS_PORT", 9090);
  return {
    mongoUrl: env.FC_MONGO_URL || "mongodb://localhost:27017",
    db: env.FC_MONGO_DB || "flowcatalyst",
    metricsPort,
    metricsHost: env.FC_METRICS_HOST || "127.0.0.1",
    batchSize: int("FC_STREAM_BATCH_SIZE", 100, 1),
    resumeTokenKey: env.FC_STREAM_RESUME_TOKEN_KEY || "flowcatalyst:stream:resume_token",
    redisUrl: env.FC_REDIS_URL || undefined,
    dataDir: env.FC_DATA_DIR || ".eddy",
    invalidTokenPolicy: policy,
    matcher: flag("FC_MATCHER_ENABLED", true),
    dispatcher: flag("FC_DISPATCHER_ENABLED", true),
    retry: {
      maxAttempts: int("FC_DISPATCH_MAX_ATTEMPTS", DEFAULT_RETRY_POLICY.maxAttempts, 1),
      initialDelayMs: int("FC_DISPATCH_RETRY_INITIAL_MS", DEFAULT_RETRY_POLICY.initialDelayMs),
      multiplier: num("FC_DISPATCH_RETRY_MULTIPLIER", DEFAULT_RETRY_POLICY.multiplier),
      maxDelayMs: int("FC_DISPATCH_RETRY_MAX_MS", DEFAULT_RETRY_POLICY.maxDelayMs),
      jitter: Math.min(1, num("FC_DISPATCH_RETRY_JITTER", DEFAULT_RETRY_POLICY.jitter)),
    },
    breaker: {
      failureThreshold: int("FC_BREAKER_FAILURE_THRESHOLD", DEFAULT_BREAKER_OPTIONS.failureThreshold, 1),
      coolDownMs: int("FC_BREAKER_COOLDOWN_MS", DEFAULT_BREAKER_OPTIONS.coolDownMs),
    },
    poolConcurrency: int("FC_POOL_CONCURRENCY", 32, 1),
    poolLimits: poolLimits(env.FC_POOL_LIMITS),
    maxInFlight: int("FC_DISPATCH_MAX_IN_FLIGHT", 256, 1),
    timeoutMs,
    jobLeaseMs: int("FC_DISPATCH_LEASE_MS", Math.max(60_000, 2 * timeoutMs), 1),
    pollIntervalMs: int("FC_DISPATCH_POLL_MS", 200, 1),
    offerNewJobs: flag("FC_DISPATCH_OFFER_NEW_JOBS", true),
    handOver: flag("FC_DISPATCH_HANDOFF", false),
    leaseTtlMs: int("FC_LEASE_TTL_MS", 15_000, 100),
  };
}

/** `FC_POOL_LIMITS=critical=64,bulk=4`. */
function poolLimits(raw: string | undefined): Record<string, number> {
  if (!raw) return {};
  const limits: Record<string, number> = {};
  for (const part of raw.split(",")) {
    const match = /^\s*([^=\s]+)\s*=\s*(\d+)\s*$/.exec(part);
    if (!match || Number(match[2]) < 1) {
      throw new DispatchConfigError(
        `FC_POOL_LIMITS must be pool=limit pairs separated by commas (e.g. critical=64,bulk=4), got '${raw}'`,
      );
    }
    limits[match[1]] = Number(match[2]);
  }
  return limits;
}

// Pure parts of event dispatch: pattern index, signatures, back-off, breaker, pool slots, configuration.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { backoffDelayMs, nextDelayMs, retryAfterMs } from "../../src/dispatch/backoff.ts";
import { CircuitBreakers } from "../../src/dispatch/circuit-breaker.ts";
import { dispatchConfigFromEnv } from "../../src/dispatch/config.ts";
import { EventTypeError } from "../../src/dispatch/event-type.ts";
import { PatternIndex } from "../../src/dispatch/pattern-index.ts";
import { PoolLimits } from "../../src/dispatch/pool-limits.ts";
import { secretKey, sign, verifyWebhook, webhookHeaders } from "../../src/dispatch/signing.ts";

describe("PatternIndex", () => {
  it("finds exactly the patterns that match, literal or wildcard, per segment", () => {
    const index = new PatternIndex<string>();
    for (const p of [
      "orders:fulfillment:shipment:shipped",
      "orders:fulfillment:*:*",
      "orders:*:*:*",
      "inventory:*:*:*",
      "*:*:*:*",
      "*:fulfillment:*:shipped",
      "orders:fulfillment:shipment:delivered",
    ]) {
      index.add(p, p, p);
    }
    expect(index.match("orders:fulfillment:shipment:shipped").sort()).toEqual(
      [
        "*:*:*:*",
        "*:fulfillment:*:shipped",
        "orders:*:*:*",
        "orders:fulfillment:*:*",
        "orders:fulfillment:shipment:shipped",
      ].sort(),
    );
    expect(index.match("inventory:stock:item:low").sort()).toEqual(["*:*:*:*", "inventory:*:*:*"]);
    index.remove("*:*:*:*");
    index.remove("inventory:*:*:*");
    expect(index.match("inventory:stock:item:low")).toEqual([]);
    expect(index.size).toBe(5);
  });

  it("replaces an item re-added under the same key with a new pattern", () => {
    const index = new PatternIndex<string>();
    index.add("s1", "a:b:c:d", "v1");
    index.add("s1", "x:*:*:*", "v2");
    expect(index.match("a:b:c:d")).toEqual([]);
    expect(index.match("x:y:z:w")).toEqual(["v2"]);
  });

  it("rejects malformed patterns and event types with what was expected", () => {
    const index = new PatternIndex<string>();
    expect(() => index.add("k", "orders:*", "v")).toThrow(/four ':'-separated/);
    expect(() => index.add("k", "orders:ful*:*:*", "v")).toThrow(/exactly '\*'/);
    expect(() => index.match("orders:a:b")).toThrow(EventTypeError);
    expect(() => index.match("orders:*:b:c")).toThrow(/must not contain/);
  });
});

describe("Standard Webhooks signing", () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  it("signs id.timestamp.body with the base64-decoded secret", () => {
    const key = secretKey(secret);
    const expected = createHmac("sha256", Buffer.from("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "base64"))
      .update('msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}')
      .digest("base64");
    expect(sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}')).toBe(
      `v1,${expected}`,
    );
  });

  it("produces headers a receiver verifies, and rejects tampering and stale timestamps", () => {
    const now = new Date();
    const headers = webhookHeaders(secretKey(secret), "job-1", '{"a":1}', now);
    const given = {
      id: headers["webhook-id"],
      timestamp: headers["webhook-timestamp"],
      signature: headers["webhook-signature"],
    };
    expect(verifyWebhook(secret, given, '{"a":1}', { now })).toBe(true);
    expect(verifyWebhook(secret, given, '{"a":2}', { now })).toBe(false);
    expect(verifyWebhook(secret, { ...given, id: "job-2" }, '{"a":1}', { now })).toBe(false);
    expect(verifyWebhook(secret, given, '{"a":1}', { now: new Date(now.getTime() + 600_000) })).toBe(false);
    expect(
      verifyWebhook(secret, { ...given, signature: `v1,bogus ${given.signature}` }, '{"a":1}', { now }),
    ).toBe(true);
  });

  it("explains a secret that is not base64", () => {
    expect(() => secretKey("whsec_not base64!")).toThrow(/whsec_' followed by base64/);
  });
});

describe("back-off", () => {
  const policy = { maxAttempts: 5, initialDelayMs: 1000, multiplier: 4, maxDelayMs: 30_000, jitter: 0.2 };
  it("grows exponentially within the jitter band and stops at the cap", () => {
    expect(backoffDelayMs(policy, 1, () => 0.5)).toBe(1000);
    expect(backoffDelayMs(policy, 2, () => 0.5)).toBe(4000);
    expect(backoffDelayMs(policy, 3, () => 0)).toBe(12_800);
    expect(backoffDelayMs(policy, 3, () => 1)).toBe(19_200);
    expect(backoffDelayMs(policy, 9, () => 1)).toBe(30_000);
  });
  it("honours Retry-After in seconds or as an HTTP date, capped", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryAfterMs("7", now)).toBe(7000);
    expect(retryAfterMs("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(nextDelayMs(policy, 1, 7000)).toBe(7000);
    expect(nextDelayMs(policy, 1, 3_600_000)).toBe(30_000);
  });
});

describe("CircuitBreakers", () => {
  it("opens after the threshold, half-opens after the cool-down with one probe, closes on success", () => {
    let now = 0;
    const changes: string[] = [];
    const breakers = new CircuitBreakers(
      { failureThreshold: 3, coolDownMs: 100 },
      () => now,
      (t, s) => changes.push(s),
    );
    for (let i = 0; i < 3; i++) {
      expect(breakers.admit("a").allowed).toBe(true);
      breakers.failed("a");
    }
    expect(breakers.admit("a")).toEqual({ allowed: false, retryAt: 100 });
    expect(breakers.admit("b").allowed).toBe(true);
    now = 100;
    expect(breakers.admit("a").allowed).toBe(true);
    expect(breakers.admit("a").allowed).toBe(false); // only one probe at a time
    breakers.failed("a");
    expect(breakers.state("a")).toBe("OPEN");
    now = 250;
    expect(breakers.admit("a").allowed).toBe(true);
    breakers.succeeded("a");
    expect(breakers.state("a")).toBe("CLOSED");
    expect(changes).toEqual(["OPEN", "HALF_OPEN", "OPEN", "HALF_OPEN", "CLOSED"]);
  });
});

describe("PoolLimits", () => {
  it("gives each pool its own slots", () => {
    const pools = new PoolLimits(2, { bulk: 1 });
    expect(pools.tryAcquire("bulk")).toBe(true);
    expect(pools.tryAcquire("bulk")).toBe(false);
    expect(pools.tryAcquire("critical")).toBe(true);
    expect(pools.tryAcquire("critical")).toBe(true);
    expect(pools.tryAcquire("critical")).toBe(false);
    pools.release("bulk");
    expect(pools.tryAcquire("bulk")).toBe(true);
    expect(pools.total()).toBe(3);
  });
});

describe("dispatchConfigFromEnv", () => {
  it("uses the original names and defaults", () => {
    const c = dispatchConfigFromEnv({});
    expect(c).toMatchObject({
      db: "flowcatalyst",
      metricsPort: 9090,
      batchSize: 100,
      invalidTokenPolicy: "start-from-now",
      // Jobs are created PENDING and offered to a co-located dispatcher; the hand-over at insert is opt-in.
      offerNewJobs: true,
      handOver: false,
    });
    expect(dispatchConfigFromEnv({ FC_DISPATCH_HANDOFF: "true" }).handOver).toBe(true);
    expect(dispatchConfigFromEnv({ FC_POOL_LIMITS: "critical=64,bulk=4" }).poolLimits).toEqual({
      critical: 64,
      bulk: 4,
    });
  });
  it("names a bad value and what it should be", () => {
    expect(() => dispatchConfigFromEnv({ FC_STREAM_BATCH_SIZE: "0" })).toThrow(
      /FC_STREAM_BATCH_SIZE must be an integer ≥ 1, got '0'/,
    );
    expect(() => dispatchConfigFromEnv({ FC_STREAM_INVALID_TOKEN_POLICY: "skip" })).toThrow(
      /start-from-now' or 'fail'/,
    );
    expect(() => dispatchConfigFromEnv({ FC_POOL_LIMITS: "x" })).toThrow(/pool=limit pairs/);
  });
});

import { describe, expect, it } from "vitest";
import { lagOf } from "../../src/cli/commands/processor-stats.ts";
import { formatCompact, formatDuration } from "../../src/cli/format.ts";
import { connectionHealth, sourceProblems } from "../../src/control/connection-health.ts";
import type { ProcessorMetrics } from "../../src/control/processor-manager.ts";
import { percentileMs } from "../../src/server/console/metrics-history.ts";

describe("the LAG column", () => {
  it("prints counts and durations in short human units", () => {
    expect([950, 12_345, 4_200_000, 250_000_000].map(formatCompact)).toEqual([
      "950",
      "12.3k",
      "4.2M",
      "250M",
    ]);
    expect([42, 200, 7_500, 90_000].map(formatDuration)).toEqual(["42s", "3m 20s", "2h 5m", "1d 1h"]);
    expect(lagOf({ kafkaTotalOffsetLag: 12_345 })).toBe("12.3k msgs");
    expect(lagOf({ kafkaTotalOffsetLag: 1 })).toBe("1 msg");
    expect(lagOf({ changeStreamTimeDifferenceSecs: 200 })).toBe("3m 20s");
    const now = Date.parse("2026-01-01T00:01:00Z");
    expect(lagOf({ status: "running", watermark: { $date: "2026-01-01T00:00:00Z" } }, now)).toBe("1m 0s");
    expect(lagOf({ status: "stopped", watermark: { $date: "2026-01-01T00:00:00Z" } }, now)).toBe("-");
    expect(lagOf(undefined)).toBe("-");
  });
});

describe("interval latency percentiles", () => {
  it("interpolates within the bucket like histogram_quantile, null without latencies", () => {
    const buckets = [
      { le: 1_000, count: 50 },
      { le: 5_000, count: 90 },
      { le: 10_000, count: 100 },
    ];
    expect(percentileMs(buckets, 50)).toBe(1);
    expect(percentileMs(buckets, 70)).toBe(3);
    expect(percentileMs(buckets, 95)).toBe(7.5);
    expect(
      percentileMs(
        buckets.map((b) => ({ ...b, count: 0 })),
        50,
      ),
    ).toBeNull();
  });
});

describe("connection health", () => {
  const processor = (name: string, stats: Record<string, unknown>): ProcessorMetrics => ({
    workspace: "w",
    name,
    state: "STARTED",
    restarts: 0,
    pipeline: [{ $source: { connectionName: "kafka" } }, { $merge: { into: { connectionName: "atlas" } } }],
    connections: ["kafka", "atlas", "__testLog"],
    stats,
  });

  it("marks a source connection unreachable, keeps the worst status per connection, and skips built-ins", () => {
    const health = connectionHealth([
      processor("a", { status: "running", sourceStatus: { reachable: true, since: 1 } }),
      processor("b", {
        status: "running",
        sourceStatus: { reachable: false, lastError: "refused", since: 5 },
      }),
    ]);
    expect(health).toEqual([
      { workspace: "w", name: "atlas", status: "reachable", reachable: true, usedBy: ["a", "b"] },
      {
        workspace: "w",
        name: "kafka",
        status: "unreachable",
        reachable: false,
        lastError: "refused",
        since: new Date(5),
        usedBy: ["a", "b"],
      },
    ]);
    expect(
      sourceProblems([processor("b", { sourceStatus: { reachable: false, lastError: "refused" } })]),
    ).toEqual([{ workspace: "w", processor: "b", reason: "refused" }]);
  });

  it("reports the connections of a retrying processor as unknown, and it as not reading its source", () => {
    const retrying = processor("c", { status: "error", error: { reason: "timed out", retryable: true } });
    expect(connectionHealth([retrying]).map((c) => [c.name, c.status, c.lastError])).toEqual([
      ["atlas", "unknown", "timed out"],
      ["kafka", "unknown", "timed out"],
    ]);
    expect(sourceProblems([retrying])).toEqual([{ workspace: "w", processor: "c", reason: "timed out" }]);
    expect(sourceProblems([{ ...retrying, state: "STOPPED" }])).toEqual([]);
  });
});

/**
 * deploy/prometheus/alerts.yml and deploy/grafana/eddy-dashboard.json: checked by `promtool check rules`
 * where Prometheus is installed (else their structure), and every series they query is one Eddy exports.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { processMetrics } from "../../src/server/process-metrics.ts";
import { renderMetrics } from "../../src/server/prometheus.ts";
import { LATENCY_BUCKET_BOUNDS_MICROS } from "../../src/runtime/stats.ts";

const ALERTS = join(process.cwd(), "deploy", "prometheus", "alerts.yml");
const DASHBOARD = join(process.cwd(), "deploy", "grafana", "eddy-dashboard.json");
const alerts = readFileSync(ALERTS, "utf8");
const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as {
  panels: Array<{ id: number; gridPos: { x: number; w: number }; targets: Array<{ expr: string }> }>;
};

function promtool(): string | undefined {
  const found = spawnSync("sh", ["-c", "command -v promtool"], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** The metric families /metrics exposes, from a Kafka processor with every kind of figure. */
async function exportedFamilies(): Promise<Set<string>> {
  const text =
    renderMetrics([
      {
        workspace: "w",
        name: "p",
        state: "STARTED",
        restarts: 0,
        pipeline: [],
        connections: ["kafka"],
        stats: {
          inputMessageCount: 10,
          outputMessageCount: 9,
          dlqMessageCount: 1,
          stateSize: 0,
          watermark: new Date(),
          changeStreamTimeDifferenceSecs: 0,
          kafkaPartitions: [{ topic: "t", partition: 0, partitionOffsetLag: 5 }],
          sourceStatus: { reachable: true, since: 0 },
          latency: {
            count: 1,
            sum: 1,
            buckets: LATENCY_BUCKET_BOUNDS_MICROS.map((le) => ({ le, count: 1 })),
          },
        },
      },
    ]) + (await processMetrics().render());
  return new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
}

function referenced(expressions: readonly string[]): Set<string> {
  const names = expressions.flatMap((e) =>
    [...e.matchAll(/\b((?:eddy|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]),
  );
  return new Set(names.map((n) => n.replace(/_(bucket|sum|count)$/, "")));
}

describe("deploy/prometheus/alerts.yml", () => {
  const tool = promtool();
  it.skipIf(tool === undefined)("passes promtool check rules", () => {
    const out = execFileSync(tool as string, ["check", "rules", ALERTS], { encoding: "utf8" });
    expect(out).toContain("SUCCESS: 5 rules found");
  });

  it("has the alerts the runbook names, each with an expression, a duration and a summary", () => {
    if (tool === undefined)
      console.warn("promtool not installed: alerts.yml is checked for its structure only");
    const rules = alerts.split(/\n\s+- alert: /).slice(1);
    expect(rules.map((r) => r.split("\n")[0])).toEqual([
      "EddySourceLagHigh",
      "EddyProcessorFailed",
      "EddySourceUnreachable",
      "EddyDeadLetters",
      "EddyErrorRateHigh",
    ]);
    for (const rule of rules) expect(rule).toMatch(/\n\s+expr: [\s\S]*\n\s+for: \d+m\n[\s\S]*summary: /);
    expect(alerts).toMatch(/eddy_source_lag_records\) > 10000\n\s+for: 5m/);
    expect(alerts).toMatch(/state="FAILED"\} == 1\n\s+for: 1m/);
    expect(alerts).toMatch(/> 0\.05\n\s+for: 5m/);
  });

  it("queries only series Eddy exports", async () => {
    const exported = await exportedFamilies();
    const expressions = [...alerts.matchAll(/expr: (\|?[\s\S]*?)\n\s+for:/g)].map((m) => m[1]);
    for (const name of referenced(expressions)) expect(exported, name).toContain(name);
  });
});

describe("deploy/grafana/eddy-dashboard.json", () => {
  it("has panels with unique ids inside the 24-column grid, querying only series Eddy exports", async () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
      expect(panel.targets.length).toBeGreaterThan(0);
    }
    const exported = await exportedFamilies();
    const names = referenced(dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)));
    expect(names.size).toBeGreaterThan(8);
    for (const name of names) expect(exported, name).toContain(name);
  });
});

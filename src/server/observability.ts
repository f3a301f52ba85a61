/**
 * The service endpoints (`/health`, `/ready`, `/metrics`) and what feeds them and the console: the
 * process collectors and the recent-figures history. One per server.
 */
import { connectionHealth, sourceProblems, type ConnectionHealth } from "../control/connection-health.ts";
import type { ControlPlane } from "../control/control-plane.ts";
import { otlpMetricsText } from "../connectors/otlp/metrics.ts";
import { ApiError } from "./api-error.ts";
import { sameToken } from "./auth.ts";
import { MetricsHistory } from "./console/metrics-history.ts";
import { MonotonicCounters } from "./monotonic-counters.ts";
import { processMetrics } from "./process-metrics.ts";
import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from "./prometheus.ts";
import type { Router } from "./router.ts";
import type { Handler, Reply } from "./routes.ts";

export class Observability {
  readonly process = processMetrics();
  readonly history: MetricsHistory;
  /** Keeps /metrics counters monotonic across scrapes. */
  readonly counters = new MonotonicCounters();
  /** The server's token: /health shows connection errors only to a caller that sends it. */
  private readonly token: string;

  constructor(plane: ControlPlane, options: { token: string; intervalMs?: number }) {
    this.token = options.token;
    this.history = new MetricsHistory(
      async () => ({ processors: await plane.processors.metrics(), process: await this.process.snapshot() }),
      options.intervalMs,
    );
  }

  start(): void {
    this.history.start();
  }

  close(): void {
    this.history.stop();
  }

  authorized(authorization: string | undefined): boolean {
    const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
    return match !== null && sameToken(match[1], this.token);
  }
}

const ok = (json: unknown): Reply => ({ status: 200, json });

export function observabilityRoutes(router: Router<Handler>, observability: Observability): Router<Handler> {
  return router
    .add("GET", "/health", async ({ plane, req }) => {
      const connections = connectionHealth(await plane.processors.metrics());
      // Without the token, which connections exist and whether they are up, but not their errors.
      const shown = observability.authorized(req.headers.authorization)
        ? connections
        : connections.map(({ lastError: _hidden, ...rest }): ConnectionHealth => rest);
      return ok({
        status: connections.some((c) => !c.reachable) ? "degraded" : "ok",
        connections: shown,
      });
    })
    .add("GET", "/ready", async ({ plane }) => {
      try {
        await plane.probe();
      } catch (error) {
        throw ApiError.of("NOT_READY", { error: (error as Error).message });
      }
      const problems = sourceProblems(await plane.processors.metrics());
      if (problems.length > 0) {
        throw ApiError.of("SOURCE_UNREACHABLE", {
          processors: problems.map((p) => `${p.workspace}/${p.processor} (${p.reason})`).join("; "),
        });
      }
      return ok({ status: "ready" });
    })
    .add("GET", "/metrics", async ({ plane }) => ({
      status: 200,
      text:
        renderMetrics(await plane.processors.metrics(), observability.counters) +
        (await otlpMetricsText()) +
        (await observability.process.render()),
      contentType: PROMETHEUS_CONTENT_TYPE,
    }));
}

/** The API's endpoints (docs/api.md), each a thin translation from HTTP to a control-plane call. */
import type { IncomingMessage } from "node:http";
import type { ControlPlane } from "../control/control-plane.ts";
import { dispatchRoutes } from "./dispatch-routes.ts";
import type { DispatchApi } from "../dispatch/service.ts";
import type { Doc } from "../mql/index.ts";
import { ApiError } from "./api-error.ts";
import { MonotonicCounters } from "./monotonic-counters.ts";
import { otlpMetricsText } from "../connectors/otlp/metrics.ts";
import { renderMetrics, PROMETHEUS_CONTENT_TYPE } from "./prometheus.ts";
import { booleanParam, integerParam } from "./query.ts";
import { checkBody, MODIFY_BODY, PROCESSOR_BODY, START_BODY, WORKSPACE_BODY } from "./request-schema.ts";
import { Router } from "./router.ts";

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly plane: ControlPlane;
  /** Event dispatch's jobs and stats, when `sp serve` runs it (FC_MONGO_URL set). */
  readonly dispatch?: DispatchApi;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  /** The parsed JSON body (undefined when empty); reading it enforces the size limit. */
  body(): Promise<unknown>;
}

export type Reply =
  | { readonly status: number; readonly json: unknown }
  | { readonly status: number; readonly text: string; readonly contentType: string };

export type Handler = (ctx: RequestContext) => Promise<Reply>;

const ok = (json: unknown, status = 200): Reply => ({ status, json });

const WS = "/api/v1/workspaces/:ws";
const PROCESSOR = `${WS}/processors/:name`;

export function apiRoutes(): Router<Handler> {
  const counters = new MonotonicCounters();
  return dispatchRoutes(new Router<Handler>(), ok)
    .add("GET", "/health", async () => ok({ status: "ok" }))
    .add("GET", "/ready", async ({ plane }) => {
      try {
        await plane.probe();
      } catch (error) {
        throw ApiError.of("NOT_READY", { error: (error as Error).message });
      }
      return ok({ status: "ready" });
    })
    .add("GET", "/metrics", async ({ plane }) => ({
      status: 200,
      text: renderMetrics(await plane.processors.metrics(), counters) + (await otlpMetricsText()),
      contentType: PROMETHEUS_CONTENT_TYPE,
    }))
    .add("GET", "/api/v1/workspaces", async ({ plane }) => ok({ results: await plane.listWorkspaces() }))
    .add("POST", "/api/v1/workspaces", async ({ plane, body }) => {
      const { name } = checkBody(await body(), WORKSPACE_BODY, "a workspace {name}");
      return ok(await plane.createWorkspace(name), 201);
    })
    .add("GET", WS, async ({ plane, params }) => ok(await plane.getWorkspace(params.ws)))
    .add("DELETE", WS, async ({ plane, params }) => {
      await plane.deleteWorkspace(params.ws);
      return ok({ deleted: params.ws });
    })
    .add("GET", `${WS}/connections`, async ({ plane, params }) =>
      ok({ results: await plane.listConnections(params.ws) }),
    )
    .add("POST", `${WS}/connections`, async ({ plane, params, body }) =>
      ok(await plane.createConnection(params.ws, await body()), 201),
    )
    .add("GET", `${WS}/connections/:name`, async ({ plane, params }) =>
      ok(await plane.getConnection(params.ws, params.name)),
    )
    .add("DELETE", `${WS}/connections/:name`, async ({ plane, params }) => {
      await plane.deleteConnection(params.ws, params.name);
      return ok({ deleted: params.name });
    })
    .add("GET", `${WS}/processors`, async ({ plane, params }) =>
      ok({ results: await plane.processors.list(params.ws) }),
    )
    .add("POST", `${WS}/processors`, async ({ plane, params, body }) => {
      const definition = checkBody(await body(), PROCESSOR_BODY, "a processor {name, pipeline, options?}");
      return ok(await plane.processors.create(params.ws, definition), 201);
    })
    .add("GET", PROCESSOR, async ({ plane, params }) =>
      ok(await plane.processors.get(params.ws, params.name)),
    )
    .add("PATCH", PROCESSOR, async ({ plane, params, body }) => {
      const change = checkBody(
        await body(),
        MODIFY_BODY,
        "a modification {name?, pipeline?, options?, resumeFromCheckpoint?}",
      );
      const { resumeFromCheckpoint: inOptions, ...options } = (change.options as Doc | undefined) ?? {};
      if (inOptions !== undefined && typeof inOptions !== "boolean") {
        throw ApiError.of(
          "INVALID_BODY",
          { problem: "options.resumeFromCheckpoint must be a boolean" },
          {
            problems: [
              {
                path: "options.resumeFromCheckpoint",
                message: "must be a boolean",
                expected: "boolean",
                got: typeof inOptions,
              },
            ],
          },
        );
      }
      return ok(
        await plane.processors.modify(params.ws, params.name, {
          ...(change.name !== undefined ? { name: change.name as string } : {}),
          ...(change.pipeline !== undefined ? { pipeline: change.pipeline as unknown[] } : {}),
          ...(change.options !== undefined ? { options } : {}),
          resumeFromCheckpoint:
            (change.resumeFromCheckpoint as boolean | undefined) ?? (inOptions as boolean | undefined),
        }),
      );
    })
    .add("DELETE", PROCESSOR, async ({ plane, params }) => {
      await plane.processors.drop(params.ws, params.name);
      return ok({ deleted: params.name });
    })
    .add("POST", `${PROCESSOR}:start`, async ({ plane, params, body }) => {
      const options = checkBody(
        await body(),
        START_BODY,
        "start options {resumeFromCheckpoint?, startAtOperationTime?, startAfter?}",
        true,
      );
      return ok(
        await plane.processors.start(params.ws, params.name, {
          resumeFromCheckpoint: options.resumeFromCheckpoint as boolean | undefined,
          startAtOperationTime: options.startAtOperationTime,
          startAfter: options.startAfter as Doc | undefined,
        }),
      );
    })
    .add("POST", `${PROCESSOR}:stop`, async ({ plane, params, body }) => {
      checkBody(await body(), {}, "no options", true);
      return ok(await plane.processors.stop(params.ws, params.name));
    })
    .add("GET", `${PROCESSOR}/stats`, async ({ plane, params, query }) =>
      ok(
        await plane.processors.stats(params.ws, params.name, {
          verbose: booleanParam(query, "verbose") ?? false,
          scale: integerParam(query, "scale", { min: 1, max: 1024 ** 3, default: 1 }),
        }),
      ),
    )
    .add("GET", `${PROCESSOR}/stats/history`, async ({ plane, params }) =>
      ok({ results: await plane.processors.statsHistory(params.ws, params.name) }),
    )
    .add("GET", `${PROCESSOR}/sample`, async ({ plane, params, query, signal }) => {
      const limit = integerParam(query, "limit", { min: 1, max: 1000, default: 20 });
      const timeoutMs = integerParam(query, "timeoutMs", { min: 0, max: 60_000, default: 5_000 });
      return ok({
        messages: await plane.processors.sample(params.ws, params.name, limit, timeoutMs, signal),
      });
    });
}

/** The API's endpoints (docs/api.md), each a thin translation from HTTP to a control-plane call. */
import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import type { ControlPlane } from "../control/control-plane.ts";
import { atlasRoutes, type AtlasRouteOptions } from "./atlas/atlas-routes.ts";
import { dispatchRoutes } from "./dispatch-routes.ts";
import type { DispatchApi } from "../dispatch/service.ts";
import { consoleRoutes } from "./console/console-routes.ts";
import { observabilityRoutes, type Observability } from "./observability.ts";
import { booleanParam, integerParam } from "./query.ts";
import { modifyRequest, startRequest } from "./processor-requests.ts";
import { checkBody, PROCESSOR_BODY, WORKSPACE_BODY } from "./request-schema.ts";
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
  | { readonly status: number; readonly json: unknown; readonly contentType?: string }
  | { readonly status: number; readonly text: string; readonly contentType: string }
  /** A response streamed as it is written (the console's server-sent events); ends with the stream. */
  | { readonly status: number; readonly stream: Readable; readonly contentType: string };

export type Handler = (ctx: RequestContext) => Promise<Reply>;

const ok = (json: unknown, status = 200): Reply => ({ status, json });

const WS = "/api/v1/workspaces/:ws";
const PROCESSOR = `${WS}/processors/:name`;

/**
 * `observability` feeds /health, /ready, /metrics and the console (src/server/observability.ts);
 * `atlas` tells the Atlas Admin API routes which hostnames the wire listener answers on.
 */
export function apiRoutes(
  observability: Observability,
  atlas: AtlasRouteOptions = { hostnames: () => [] },
): Router<Handler> {
  const router = consoleRoutes(observabilityRoutes(new Router<Handler>(), observability), observability);
  return atlasRoutes(dispatchRoutes(router, ok), atlas)
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
    .add("PATCH", `${WS}/connections/:name`, async ({ plane, params, body }) =>
      ok(await plane.replaceConnection(params.ws, params.name, await body())),
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
    .add("PATCH", PROCESSOR, async ({ plane, params, body }) =>
      ok(await plane.processors.modify(params.ws, params.name, modifyRequest(await body()))),
    )
    .add("DELETE", PROCESSOR, async ({ plane, params }) => {
      const report = await plane.processors.drop(params.ws, params.name);
      return ok({ deleted: params.name, ...report });
    })
    .add("POST", `${PROCESSOR}:start`, async ({ plane, params, body }) =>
      ok(await plane.processors.start(params.ws, params.name, startRequest(await body()))),
    )
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

/**
 * The Atlas Admin API v2 streams routes (docs/atlas-api.md) beside `/api/v1`: stream instances are Eddy
 * workspaces; connections and processors map one to one. Each handler is a thin translation to the control
 * plane; answers use Atlas's shapes, error codes and versioned media type. `groupId` is accepted and logged,
 * not checked: one Eddy server is one project.
 */
import type { Doc } from "../../mql/index.ts";
import type { ProcessorView } from "../../control/processor-manager.ts";
import type { ControlPlane } from "../../control/control-plane.ts";
import { modifyRequest, startRequest } from "../processor-requests.ts";
import { checkBody, PROCESSOR_BODY, WORKSPACE_BODY } from "../request-schema.ts";
import type { Handler, Reply, RequestContext } from "../routes.ts";
import type { Router } from "../router.ts";
import { atlasError } from "./atlas-errors.ts";
import { connection } from "../connection-shape.ts";
import { instance, page, processor } from "./atlas-views.ts";

const STREAMS = "/api/atlas/v2/groups/:groupId/streams";
const TENANT = `${STREAMS}/:tenant`;
const PROCESSOR = `${TENANT}/processor/:name`;

/** The version the resource family first appeared in, answered when the client asks for none. */
const INSTANCE_VERSION = "2023-02-01";
const PROCESSOR_VERSION = "2024-05-30";

export interface AtlasRouteOptions {
  /** Host names a stream instance reports (the wire-protocol listener's `host:port`). */
  readonly hostnames: () => readonly string[];
}

type AtlasHandler = (ctx: RequestContext) => Promise<{ status?: number; json?: unknown }>;

/** The media type to answer with: the `application/vnd.atlas.<date>+json` the client accepts, else the route's. */
function mediaType(accept: string | undefined, fallback: string): string {
  const asked = accept ? /application\/vnd\.atlas\.(\d{4}-\d{2}-\d{2})\+json/.exec(accept) : null;
  return `application/vnd.atlas.${asked ? asked[1] : fallback}+json`;
}

function atlas(version: string, handler: AtlasHandler): Handler {
  return async (ctx) => {
    const contentType = mediaType(ctx.req.headers.accept, version);
    ctx.plane.logger.info("atlas api request", {
      groupId: ctx.params.groupId,
      method: ctx.req.method,
      path: ctx.req.url,
    });
    try {
      const { status = 200, json } = await handler(ctx);
      const reply: Reply =
        json === undefined ? { status, text: "", contentType } : { status, json, contentType };
      return reply;
    } catch (error) {
      const failure = atlasError(error);
      return { status: failure.status, json: failure.body, contentType };
    }
  };
}

async function withStats(plane: ControlPlane, view: ProcessorView): Promise<Doc> {
  const { stats } = await plane.processors.stats(view.workspace, view.name, {});
  return processor(view, stats as Doc);
}

export function atlasRoutes(router: Router<Handler>, options: AtlasRouteOptions): Router<Handler> {
  const tenant = async (plane: ControlPlane, name: string, groupId: string, full = false): Promise<Doc> =>
    instance(
      await plane.getWorkspace(name),
      groupId,
      options.hostnames(),
      full ? await plane.listConnections(name) : undefined,
    );
  return router
    .add(
      "GET",
      STREAMS,
      atlas(INSTANCE_VERSION, async ({ plane, params }) => ({
        json: page(
          (await plane.listWorkspaces()).map((ws) => instance(ws, params.groupId, options.hostnames())),
        ),
      })),
    )
    .add(
      "POST",
      STREAMS,
      atlas(INSTANCE_VERSION, async ({ plane, params, body }) => {
        const { name } = checkBody(
          await body(),
          { ...WORKSPACE_BODY, ...INSTANCE_EXTRAS },
          "a stream instance {name, dataProcessRegion?, streamConfig?}",
        );
        await plane.createWorkspace(name);
        return { json: await tenant(plane, name as string, params.groupId, true) };
      }),
    )
    .add(
      "GET",
      TENANT,
      atlas(INSTANCE_VERSION, async ({ plane, params }) => ({
        json: await tenant(plane, params.tenant, params.groupId, true),
      })),
    )
    .add(
      "DELETE",
      TENANT,
      atlas(INSTANCE_VERSION, async ({ plane, params }) => {
        await plane.deleteWorkspace(params.tenant);
        return { status: 202, json: {} };
      }),
    )
    .add(
      "GET",
      `${TENANT}/connections`,
      atlas(INSTANCE_VERSION, async ({ plane, params }) => ({
        json: page((await plane.listConnections(params.tenant)).map(connection)),
      })),
    )
    .add(
      "POST",
      `${TENANT}/connections`,
      atlas(INSTANCE_VERSION, async ({ plane, params, body }) => ({
        json: connection(await plane.createConnection(params.tenant, await body())),
      })),
    )
    .add(
      "GET",
      `${TENANT}/connections/:name`,
      atlas(INSTANCE_VERSION, async ({ plane, params }) => ({
        json: connection(await plane.getConnection(params.tenant, params.name)),
      })),
    )
    .add(
      "PATCH",
      `${TENANT}/connections/:name`,
      atlas(INSTANCE_VERSION, async ({ plane, params, body }) => ({
        json: connection(await plane.replaceConnection(params.tenant, params.name, await body())),
      })),
    )
    .add(
      "DELETE",
      `${TENANT}/connections/:name`,
      atlas(INSTANCE_VERSION, async ({ plane, params }) => {
        await plane.deleteConnection(params.tenant, params.name);
        return { status: 202, json: {} };
      }),
    )
    .add(
      "POST",
      `${TENANT}/processor`,
      atlas(PROCESSOR_VERSION, async ({ plane, params, body }) => {
        const definition = checkBody(
          await body(),
          PROCESSOR_BODY,
          "a stream processor {name, pipeline, options?}",
        );
        return { json: processor(await plane.processors.create(params.tenant, definition)) };
      }),
    )
    .add(
      "GET",
      `${TENANT}/processors`,
      atlas(PROCESSOR_VERSION, async ({ plane, params }) => {
        const views = await plane.processors.list(params.tenant);
        return { json: page(await Promise.all(views.map((view) => withStats(plane, view)))) };
      }),
    )
    .add(
      "GET",
      PROCESSOR,
      atlas(PROCESSOR_VERSION, async ({ plane, params }) => ({
        json: await withStats(plane, await plane.processors.get(params.tenant, params.name)),
      })),
    )
    .add(
      "PATCH",
      PROCESSOR,
      atlas(PROCESSOR_VERSION, async ({ plane, params, body }) => ({
        json: processor(
          await plane.processors.modify(params.tenant, params.name, modifyRequest(await body())),
        ),
      })),
    )
    .add(
      "DELETE",
      PROCESSOR,
      atlas(PROCESSOR_VERSION, async ({ plane, params }) => {
        await plane.processors.drop(params.tenant, params.name);
        return { status: 204 };
      }),
    )
    .add(
      "POST",
      `${PROCESSOR}:start`,
      atlas(PROCESSOR_VERSION, async ({ plane, params }) => {
        await plane.processors.start(params.tenant, params.name);
        return { json: {} };
      }),
    )
    .add(
      "POST",
      `${PROCESSOR}:startWith`,
      atlas(PROCESSOR_VERSION, async ({ plane, params, body }) => {
        await plane.processors.start(params.tenant, params.name, startRequest(await body()));
        return { json: {} };
      }),
    )
    .add(
      "POST",
      `${PROCESSOR}:stop`,
      atlas(PROCESSOR_VERSION, async ({ plane, params }) => {
        await plane.processors.stop(params.tenant, params.name);
        return { json: {} };
      }),
    );
}

/** Instance settings Atlas clients send; Eddy has no regions or tiers and ignores them. */
const INSTANCE_EXTRAS = {
  dataProcessRegion: { type: ["object"] },
  streamConfig: { type: ["object"] },
} as const;

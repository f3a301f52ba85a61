/**
 * The API routes of event dispatch (docs/api.md, "Event dispatch"): list, retry and cancel jobs, and the
 * matcher's stats. Thin translations to JobStore and DispatchService; added to the router by routes.ts.
 */
import { ApiError } from "./api-error.ts";
import { booleanParam, integerParam } from "./query.ts";
import type { Router } from "./router.ts";
import type { Handler, Reply, RequestContext } from "./routes.ts";
import { JobOperationError } from "../dispatch/job-store.ts";
import type { DispatchApi } from "../dispatch/service.ts";

const DISPATCH = "/api/v1/dispatch";
const JOBS = `${DISPATCH}/jobs`;

export function dispatchRoutes(router: Router<Handler>, ok: (json: unknown) => Reply): Router<Handler> {
  return router
    .add("GET", `${DISPATCH}/stats`, async (ctx) => {
      const { query } = ctx;
      const verbose = booleanParam(query, "verbose") ?? false;
      const scale = integerParam(query, "scale", { min: 1, max: 1024 ** 3, default: 1 });
      return ok(await dispatchOf(ctx).stats({ verbose, scale }));
    })
    .add("GET", JOBS, async (ctx) => {
      const { query } = ctx;
      const param = (name: string): string | undefined => query.get(name) ?? undefined;
      const results = await guarded(() =>
        jobsOf(ctx).list({
          status: param("status"),
          subscriptionId: param("subscriptionId"),
          eventId: param("eventId"),
          clientId: param("clientId"),
          limit: integerParam(query, "limit", { min: 1, max: 1000, default: 50 }),
        }),
      );
      return ok({ results });
    })
    .add("POST", `${JOBS}/:id:retry`, async (ctx) =>
      ok(await guarded(() => jobsOf(ctx).retry(ctx.params.id))),
    )
    .add("POST", `${JOBS}/:id:cancel`, async (ctx) =>
      ok(await guarded(() => jobsOf(ctx).cancel(ctx.params.id))),
    );
}

function jobsOf(ctx: RequestContext): DispatchApi["jobs"] {
  return dispatchOf(ctx).jobs;
}

function dispatchOf(ctx: RequestContext): DispatchApi {
  if (ctx.dispatch) return ctx.dispatch;
  throw ApiError.of("DISPATCH_NOT_CONFIGURED", {});
}

async function guarded<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof JobOperationError) throw new ApiError(error.code, error.message);
    throw error;
  }
}

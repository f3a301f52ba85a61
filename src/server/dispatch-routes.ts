/**
 * The API routes of event dispatch (docs/api.md, "Dispatch jobs"): list, retry and cancel jobs. Thin
 * translations to JobStore; added to the server's router by src/server/routes.ts.
 */
import { ApiError } from "./api-error.ts";
import { integerParam } from "./query.ts";
import type { Router } from "./router.ts";
import type { Handler, Reply, RequestContext } from "./routes.ts";
import { JobOperationError, type JobStore } from "../dispatch/job-store.ts";

const JOBS = "/api/v1/dispatch/jobs";

export function dispatchRoutes(router: Router<Handler>, ok: (json: unknown) => Reply): Router<Handler> {
  return router
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

function jobsOf(ctx: RequestContext): JobStore {
  if (ctx.jobs) return ctx.jobs;
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

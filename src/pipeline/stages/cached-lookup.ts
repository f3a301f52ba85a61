import type { PlanContext } from "../context.ts";
import { readDuration } from "../duration.ts";
import type { StagePlan } from "../plan.ts";
import { Spec } from "../spec.ts";
import { fromNamespace, readFrom } from "./lookup.ts";

/** ASP's default `maxMemUsageBytes` is 10 % of RAM; Eddy defaults to a fixed 64 MiB. */
const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;
import { stageFields } from "./open-stage.ts";

/** `$cachedLookup` (docs/asp-semantics.md §2.4): equality lookup with a TTL cache; `ttl`, `from`, `as` required. */
export function planCachedLookup(value: unknown, path: string, ctx: PlanContext): StagePlan | undefined {
  const spec = Spec.open(value, path, "$cachedLookup", ctx.issues, stageFields(ctx, "$cachedLookup"));
  if (!spec) return undefined;
  const ttl = readDuration(spec, "ttl", true);
  if (ttl && ttl.size <= 0) spec.error("ttl.size", "$cachedLookup ttl size must be greater than 0.");
  const maxMem = spec.int("maxMemUsageBytes");
  if (maxMem !== undefined && maxMem <= 0)
    spec.error("maxMemUsageBytes", "maxMemUsageBytes must be greater than 0");
  const connection = readFrom(spec, ctx, "$cachedLookup", true);
  const localField = spec.string("localField", true);
  const foreignField = spec.string("foreignField", true);
  const as = spec.string("as", true);
  if (spec.hasIssuesSinceOpen() || !ttl || as === undefined) return undefined;
  return {
    kind: "cachedLookup",
    type: connection?.type,
    operatorName: "CachedLookUpOperator",
    path,
    connectionName: connection?.name,
    options: {
      from: fromNamespace(spec),
      localField,
      foreignField,
      as,
      parallelism: 1,
      cache: { ttlMs: ttl.ms, maxBytes: maxMem ?? DEFAULT_CACHE_BYTES },
    },
  };
}

import type { PlanContext } from "../context.ts";
import { readDuration } from "../duration.ts";
import type { StagePlan } from "../plan.ts";
import { Spec } from "../spec.ts";
import { readFrom } from "./lookup.ts";
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
  spec.string("localField", true);
  spec.string("foreignField", true);
  spec.string("as", true);
  if (spec.hasIssuesSinceOpen()) return undefined;
  return {
    kind: "cachedLookup",
    type: connection?.type,
    operatorName: "CachedLookUpOperator",
    path,
    connectionName: connection?.name,
    options: spec.value,
  };
}

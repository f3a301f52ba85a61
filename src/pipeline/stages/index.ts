import type { AnyStagePlan, PlanContext } from "../context.ts";
import type { SinkPlan } from "../plan.ts";
import { planAddFields } from "./add-fields.ts";
import { planCachedLookup } from "./cached-lookup.ts";
import { planCount } from "./count.ts";
import { planEmit } from "./emit.ts";
import { planExternalFunction } from "./external-function.ts";
import { planGroup } from "./group.ts";
import { planHttps } from "./https.ts";
import { planIceberg } from "./iceberg.ts";
import { planLimit } from "./limit.ts";
import { planLookup } from "./lookup.ts";
import { planMatch } from "./match.ts";
import { planMerge } from "./merge.ts";
import { planProject } from "./project.ts";
import { planRedact } from "./redact.ts";
import { planReplaceRoot } from "./replace-root.ts";
import { planSetStreamMeta } from "./set-stream-meta.ts";
import { planSort } from "./sort.ts";
import { planUnset } from "./unset.ts";
import { planUnwind } from "./unwind.ts";
import { planValidate } from "./validate.ts";
import { planWindow } from "./window.ts";

export type StageBuilder = (
  spec: unknown,
  path: string,
  ctx: PlanContext,
  stageName: string,
  isLast: boolean,
) => AnyStagePlan | SinkPlan | undefined;

/**
 * Where a stage may appear (docs/asp-semantics.md §0 placement matrix): `main` is "yes", "window-only", "sink" (last
 * stage only) or "source" (first stage only).
 */
export interface StageEntry {
  readonly main: "yes" | "window-only" | "sink" | "source";
  readonly window: boolean;
  readonly payload: boolean;
  readonly build?: StageBuilder;
}

const everywhere = (build: StageBuilder): StageEntry => ({ main: "yes", window: true, payload: true, build });
const notInPayload = (build: StageBuilder): StageEntry => ({
  main: "yes",
  window: true,
  payload: false,
  build,
});
const windowOnly = (build: StageBuilder): StageEntry => ({
  main: "window-only",
  window: true,
  payload: false,
  build,
});
const mainOnly = (build: StageBuilder): StageEntry => ({ main: "yes", window: false, payload: false, build });
const sink = (build: StageBuilder): StageEntry => ({ main: "sink", window: false, payload: false, build });

export const STAGES: Readonly<Record<string, StageEntry>> = {
  $source: { main: "source", window: false, payload: false },
  $addFields: everywhere(planAddFields),
  $set: everywhere(planAddFields),
  $project: everywhere(planProject),
  $replaceRoot: everywhere(planReplaceRoot),
  $replaceWith: notInPayload(planReplaceRoot),
  $match: notInPayload(planMatch),
  $redact: notInPayload(planRedact),
  $unset: notInPayload(planUnset),
  $unwind: notInPayload(planUnwind),
  $validate: notInPayload(planValidate),
  $lookup: notInPayload(planLookup),
  $https: notInPayload((spec, path, ctx, _name, isLast) => planHttps(spec, path, ctx, isLast)),
  $externalFunction: notInPayload((spec, path, ctx, _name, isLast) =>
    planExternalFunction(spec, path, ctx, isLast),
  ),
  $group: windowOnly(planGroup),
  $sort: windowOnly(planSort),
  $count: windowOnly(planCount),
  $limit: windowOnly(planLimit),
  $tumblingWindow: mainOnly(planWindow),
  $hoppingWindow: mainOnly(planWindow),
  $sessionWindow: mainOnly(planWindow),
  $cachedLookup: mainOnly(planCachedLookup),
  $setStreamMeta: mainOnly(planSetStreamMeta),
  $merge: sink(planMerge),
  $emit: sink(planEmit),
  $iceberg: sink(planIceberg),
};

export function stageEntry(name: string): StageEntry | undefined {
  return Object.hasOwn(STAGES, name) ? STAGES[name] : undefined;
}

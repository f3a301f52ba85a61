/** `$lookup` / `$cachedLookup` plan → a runtime stage backed by {@link Lookup}. */
import type { ConnectorStagePlan } from "../../pipeline/plan.ts";
import type { RunContext, StageRunner } from "../../runtime/index.ts";
import type { StatsCollector } from "../../runtime/stats.ts";
import { failDocument } from "../../runtime/context.ts";
import { UnavailableConnectorError } from "../errors.ts";
import { Lookup, type ForeignCollection, type LookupSpec } from "./lookup.ts";

export type LookupStagePlan = Extract<ConnectorStagePlan, { kind: "lookup" | "cachedLookup" }>;

export function createLookupStage(
  stage: LookupStagePlan,
  collections: (db: string, coll: string) => ForeignCollection,
  ctx: RunContext,
  stats: StatsCollector,
): StageRunner {
  const op = stats.operator(stage.operatorName);
  const lookup = new Lookup(collections, lookupSpec(stage), stage.path);
  return {
    stats: op,
    async process(items) {
      const docs = await lookup.apply(
        items.map((item) => item.doc),
        (i) => items[i].vars,
        (i, error) => failDocument(ctx, op, items[i], error),
      );
      const out = [];
      for (let i = 0; i < items.length; i++) {
        const doc = docs[i];
        if (doc !== undefined) out.push({ ...items[i], doc });
      }
      return out;
    },
  };
}

/** The planned options as `Lookup` takes them; a `$lookup` without `from` has nothing to join yet. */
function lookupSpec(stage: LookupStagePlan): LookupSpec {
  const { from, ...options } = stage.options;
  if (!from)
    throw new UnavailableConnectorError(`${stage.path}: a $lookup without from is not available yet`);
  return { ...options, from };
}

/** `$lookup` / `$cachedLookup` plan → a runtime stage backed by {@link Lookup}. */
import { isPlainObject } from "../../mql/bson-types.ts";
import type { Doc } from "../../mql/index.ts";
import type { ConnectorStagePlan } from "../../pipeline/plan.ts";
import { DURATION_UNITS, type DurationUnit } from "../../pipeline/duration.ts";
import type { RunContext, StageRunner } from "../../runtime/index.ts";
import type { StatsCollector } from "../../runtime/stats.ts";
import { failDocument } from "../../runtime/context.ts";
import { Lookup, type ForeignCollection, type LookupSpec } from "./lookup.ts";

/** ASP's default `maxMemUsageBytes` is 10 % of RAM; Eddy defaults to a fixed 64 MiB. */
const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

export function createLookupStage(
  stage: ConnectorStagePlan,
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

function lookupSpec(stage: ConnectorStagePlan): LookupSpec {
  const o = stage.options;
  const from = o.from as { db: string; coll: string };
  const spec: { -readonly [K in keyof LookupSpec]: LookupSpec[K] } = {
    from: { db: from.db, coll: from.coll },
    as: o.as as string,
  };
  if (typeof o.localField === "string") spec.localField = o.localField;
  if (typeof o.foreignField === "string") spec.foreignField = o.foreignField;
  if (Array.isArray(o.pipeline)) spec.pipeline = o.pipeline as Doc[];
  if (isPlainObject(o.let)) {
    spec.let = Object.fromEntries(
      Object.keys(o.let).map((name) => [name, stage.evaluators?.[`let.${name}`] ?? (() => undefined)]),
    );
  }
  if (stage.kind === "cachedLookup") {
    const ttl = o.ttl as { size: number; unit: string };
    spec.cache = {
      ttlMs: ttl.size * DURATION_UNITS[ttl.unit as DurationUnit],
      maxBytes: typeof o.maxMemUsageBytes === "number" ? o.maxMemUsageBytes : DEFAULT_CACHE_BYTES,
    };
  }
  return spec;
}

import type { Doc } from "../mql/index.ts";
import type { StagePlan } from "../pipeline/plan.ts";
import { deadLetterDocument, failDocument, type RunContext } from "./context.ts";
import type { OperatorStats, StatsCollector } from "./stats.ts";
import type { Item } from "./types.ts";

/** One operator of the running pipeline: takes a batch, returns what it passes on. */
export interface StageRunner {
  readonly stats: OperatorStats;
  process(items: Item[]): Item[] | Promise<Item[]>;
}

/** Stateless stages (everything but windows and connector-backed stages) as batch loops. */
export type StatelessStagePlan = Extract<
  StagePlan,
  { kind: "match" | "transform" | "unwind" | "validate" | "setStreamMeta" }
>;

export function isStatelessStage(stage: { kind: string }): stage is StatelessStagePlan {
  return (
    stage.kind === "match" ||
    stage.kind === "transform" ||
    stage.kind === "unwind" ||
    stage.kind === "validate" ||
    stage.kind === "setStreamMeta"
  );
}

export const VALIDATE_INVALID_REASON = "Input document found to be invalid in $validate stage";

export function createStatelessRunner(
  stage: StatelessStagePlan,
  ctx: RunContext,
  stats: StatsCollector,
): StageRunner {
  const op = stats.operator(stage.operatorName);
  switch (stage.kind) {
    case "match": {
      const predicate = stage.predicate;
      return perItemRunner(ctx, op, (item, out) => {
        if (predicate(item.doc, item.vars)) out.push(item);
        else op.filteredMessageCount++;
      });
    }
    case "transform": {
      const apply = stage.apply;
      return perItemRunner(ctx, op, (item, out) => {
        const doc = apply(item.doc, item.vars);
        if (doc === undefined) {
          op.filteredMessageCount++;
          return;
        }
        item.doc = doc;
        out.push(item);
      });
    }
    case "unwind": {
      const apply = stage.apply;
      return perItemRunner(ctx, op, (item, out) => {
        const docs = apply(item.doc, item.vars);
        if (docs.length === 0) op.filteredMessageCount++;
        for (const doc of docs) {
          out.push({
            doc,
            vars: item.vars,
            eventTime: item.eventTime,
            watermarkBefore: item.watermarkBefore,
            origin: item.origin,
          });
        }
      });
    }
    case "validate": {
      const { predicate, action } = stage;
      return perItemRunner(ctx, op, (item, out) => {
        if (predicate(item.doc, item.vars)) out.push(item);
        else if (action === "dlq") deadLetterDocument(ctx, op, item.doc, VALIDATE_INVALID_REASON);
        else op.filteredMessageCount++;
      });
    }
    case "setStreamMeta": {
      const fields = stage.fields;
      return perItemRunner(ctx, op, (item, out) => {
        const current = item.vars.$stream ?? item.doc._stream_meta;
        const meta: Doc = isObject(current) ? { ...current } : {};
        for (const [key, evaluate] of fields) setDotted(meta, key, evaluate(item.doc, item.vars));
        item.vars = { ...item.vars, $stream: meta };
        out.push(item);
      });
    }
  }
}

/**
 * A runner that applies `step` to each item of a batch; `step` pushes what it passes on to `out`. A
 * per-document error dead-letters that item and the batch goes on; any other error fails the processor.
 */
function perItemRunner(
  ctx: RunContext,
  op: OperatorStats,
  step: (item: Item, out: Item[]) => void,
): StageRunner {
  return {
    stats: op,
    process(items) {
      const out: Item[] = [];
      for (const item of items) {
        try {
          step(item, out);
        } catch (error) {
          failDocument(ctx, op, item, error);
        }
      }
      return out;
    },
  };
}

function isObject(value: unknown): value is Doc {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof Date);
}

/** Sets `a.b.c` inside `target`, copying intermediate objects so shared metadata is never mutated. */
function setDotted(target: Doc, dotted: string, value: unknown): void {
  const parts = dotted.split(".");
  let node = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = node[parts[i]];
    const copy: Doc = isObject(next) ? { ...next } : {};
    node[parts[i]] = copy;
    node = copy;
  }
  node[parts[parts.length - 1]] = value;
}

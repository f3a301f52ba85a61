import { isPlainObject } from "../../mql/bson-types.ts";
import { compileExpression, type Doc, type Evaluator, type Vars } from "../../mql/index.ts";
import { compileAt, type PlanContext } from "../context.ts";
import {
  compileAddFields,
  compileProject,
  compileReplaceRoot,
  compileReplaceWith,
  compileUnset,
} from "../document-stages.ts";
import type { MergeMode, MergeWhenMatched, MergeWhenNotMatched, SinkPlan } from "../plan.ts";
import { Spec } from "../spec.ts";
import { checkStringOrExpression } from "./expressions.ts";
import { readParallelism } from "./lookup.ts";
import { resolveStageConnection, stageFields } from "./open-stage.ts";

const MODES: readonly MergeMode[] = ["merge", "replace", "keepExisting", "delete"];
const DEFAULT_LET = "new";

type UpdateStep = (doc: Doc, vars?: Vars) => Doc | undefined;
type UpdateCompiler = (spec: unknown, options: { path: string }) => UpdateStep;

/** Stages allowed in a `whenMatched` update pipeline (server rule). */
const UPDATE_STAGES: Readonly<Record<string, UpdateCompiler>> = {
  $addFields: compileAddFields,
  $set: compileAddFields,
  $project: compileProject,
  $unset: compileUnset,
  $replaceRoot: compileReplaceRoot,
  $replaceWith: compileReplaceWith,
};

/** `$merge` into an Atlas collection (docs/asp-semantics.md §3.1). */
export function planMerge(value: unknown, path: string, ctx: PlanContext): SinkPlan | undefined {
  const spec = Spec.open(value, path, "$merge", ctx.issues, stageFields(ctx, "$merge"));
  if (!spec) return undefined;
  const into = spec.object("into", ["connectionName", "db", "coll"], true);
  const connection = into && resolveStageConnection(ctx, into, "connectionName", "$merge");
  const db = into && namespacePart(ctx, into, "db");
  const coll = into && namespacePart(ctx, into, "coll");
  const on = readOn(spec);
  const letVars = readLet(spec, ctx);
  const whenMatched = readWhenMatched(spec, ctx, letVars?.map(([name]) => name) ?? [DEFAULT_LET]);
  const whenNotMatched = readWhenNotMatched(spec, ctx);
  const parallelism = readParallelism(spec);
  if (spec.hasIssuesSinceOpen() || !connection || !db || !coll) return undefined;
  return {
    kind: "merge",
    type: connection.type,
    operatorName: "MergeOperator",
    path,
    connectionName: connection.name,
    db,
    coll,
    options: spec.value,
    on: on ?? ["_id"],
    whenMatched: whenMatched ?? { kind: "mode", mode: "merge" },
    whenNotMatched: whenNotMatched ?? { kind: "mode", mode: "insert" },
    let: letVars ?? [[DEFAULT_LET, (root) => root]],
    parallelism: parallelism ?? 1,
  };
}

/** `into.db` / `into.coll`: a literal, a `"$field"` path or an expression, evaluated per document. */
function namespacePart(ctx: PlanContext, into: Spec, field: string): Evaluator | undefined {
  if (!checkStringOrExpression(into, field, true)) return undefined;
  const raw = into.raw(field);
  if (raw === "") return into.error(field, `$merge.into.${field} must not be empty`);
  const path = into.fieldPath(field);
  return compileAt(ctx, path, () => compileExpression(raw, { path }));
}

function readOn(spec: Spec): string[] | undefined {
  const on = spec.stringOrStrings("on");
  if (on === undefined) return undefined;
  const fields = typeof on === "string" ? [on] : on;
  if (fields.length === 0) return spec.error("on", "$merge.on must name at least one field");
  const seen = new Set<string>();
  for (const field of fields) {
    if (seen.has(field)) return spec.error("on", `Found a duplicate field in the $merge.on list: '${field}'`);
    seen.add(field);
  }
  return fields;
}

function readLet(spec: Spec, ctx: PlanContext): Array<readonly [string, Evaluator]> | undefined {
  const lets = spec.doc("let");
  if (!lets) return undefined;
  const out: Array<readonly [string, Evaluator]> = [];
  for (const [name, expr] of Object.entries(lets)) {
    const path = `${spec.fieldPath("let")}.${name}`;
    const evaluate = compileAt(ctx, path, () => compileExpression(expr, { path }));
    if (evaluate) out.push([name, evaluate]);
  }
  return out;
}

function readWhenMatched(
  spec: Spec,
  ctx: PlanContext,
  variables: readonly string[],
): MergeWhenMatched | undefined {
  const raw = spec.raw("whenMatched");
  if (raw === undefined) return undefined;
  if (typeof raw === "string") {
    if (!(MODES as readonly string[]).includes(raw))
      return spec.error("whenMatched", `Unsupported whenMatched mode: ${raw}`);
    return { kind: "mode", mode: raw as MergeMode };
  }
  if (Array.isArray(raw)) return readUpdatePipeline(raw, spec.fieldPath("whenMatched"), ctx, variables);
  if (isPlainObject(raw)) {
    const path = spec.fieldPath("whenMatched");
    const evaluate = compileAt(ctx, path, () => compileExpression(raw, { path }));
    return evaluate && { kind: "expression", evaluate };
  }
  return spec.wrongType("whenMatched", "[string, array, object]");
}

function readWhenNotMatched(spec: Spec, ctx: PlanContext): MergeWhenNotMatched | undefined {
  const raw = spec.raw("whenNotMatched");
  if (raw === undefined) return undefined;
  if (typeof raw === "string") {
    if (raw !== "insert" && raw !== "discard")
      return spec.error("whenNotMatched", `Unsupported whenNotMatched mode: ${raw}`);
    return { kind: "mode", mode: raw };
  }
  if (isPlainObject(raw)) {
    const path = spec.fieldPath("whenNotMatched");
    const evaluate = compileAt(ctx, path, () => compileExpression(raw, { path }));
    return evaluate && { kind: "expression", evaluate };
  }
  return spec.wrongType("whenNotMatched", "[string, object]");
}

/** A `whenMatched` update pipeline; its expressions may read the `let` variables (`$$new`). */
function readUpdatePipeline(
  stages: unknown[],
  path: string,
  ctx: PlanContext,
  variables: readonly string[],
): MergeWhenMatched | undefined {
  const errorsBefore = ctx.issues.size;
  const steps: UpdateStep[] = [];
  stages.forEach((stage, i) => {
    const stagePath = `${path}[${i}]`;
    if (!isPlainObject(stage) || Object.keys(stage).length !== 1) {
      ctx.issues.add(stagePath, "A pipeline stage specification object must contain exactly one field.");
      return;
    }
    const [name] = Object.keys(stage);
    const compile = UPDATE_STAGES[name];
    if (!compile) {
      ctx.issues.add(`${stagePath}.${name}`, `${name} is not allowed to be used within an update`);
      return;
    }
    const options = { path: `${stagePath}.${name}`, variables };
    const step = compileAt(ctx, options.path, () => compile(stage[name], options));
    if (step) steps.push(step);
  });
  if (ctx.issues.size > errorsBefore) return undefined;
  return {
    kind: "pipeline",
    apply: (existing, vars) => {
      let doc = existing;
      for (const step of steps) doc = step(doc, vars) ?? doc;
      return doc;
    },
  };
}

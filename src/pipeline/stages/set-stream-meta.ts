import { isPlainObject } from "../../mql/bson-types.ts";
import { compileExpression, type Evaluator } from "../../mql/index.ts";
import { compileAt, type PlanContext } from "../context.ts";
import type { StagePlan } from "../plan.ts";
import { wrongType } from "../spec.ts";

const PREFIX = "stream.";

/** `$setStreamMeta: {"stream.<key>": <expression>}` — values readable later via `{$meta: "stream.<key>"}`. */
export function planSetStreamMeta(value: unknown, path: string, ctx: PlanContext): StagePlan | undefined {
  if (!isPlainObject(value)) {
    ctx.issues.add(path, wrongType("$setStreamMeta", value, "object"));
    return undefined;
  }
  const errorsBefore = ctx.issues.size;
  const fields: Array<readonly [string, Evaluator]> = [];
  for (const [key, expr] of Object.entries(value)) {
    const fieldPath = `${path}.${key}`;
    if (!key.startsWith(PREFIX) || key.length === PREFIX.length) {
      ctx.issues.add(fieldPath, `$setStreamMeta field names must start with 'stream.', found '${key}'`);
      continue;
    }
    const evaluate = compileAt(ctx, fieldPath, () => compileExpression(expr, { path: fieldPath }));
    if (evaluate) fields.push([key.slice(PREFIX.length), evaluate]);
  }
  if (fields.length === 0 && ctx.issues.size === errorsBefore)
    ctx.issues.add(path, "$setStreamMeta must set at least one 'stream.' field");
  if (ctx.issues.size > errorsBefore) return undefined;
  return { kind: "setStreamMeta", operatorName: "SetStreamMetaOperator", path, fields };
}

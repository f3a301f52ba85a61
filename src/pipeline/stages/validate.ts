import { compileAt, type PlanContext } from "../context.ts";
import { compileQuery } from "../document-stages.ts";
import type { StagePlan } from "../plan.ts";
import { Spec } from "../spec.ts";

/** `$validate: {validator, validationAction}` — `discard` (default) or `dlq`, which needs a processor DLQ. */
export function planValidate(value: unknown, path: string, ctx: PlanContext): StagePlan | undefined {
  const spec = Spec.open(value, path, "$validate", ctx.issues, ["validator", "validationAction"]);
  if (!spec) return undefined;
  const validator = spec.doc("validator") ?? {};
  const action = spec.enumOf("validationAction", ["discard", "dlq"] as const);
  if (action === "dlq" && !ctx.hasDlq)
    spec.error("validationAction", "DLQ must be specified if validation action is dlq.");
  const validatorPath = spec.fieldPath("validator");
  const predicate = compileAt(ctx, validatorPath, () => compileQuery(validator, { path: validatorPath }));
  if (!predicate || (spec.has("validationAction") && !action)) return undefined;
  return { kind: "validate", operatorName: "ValidateOperator", path, predicate, action: action ?? "discard" };
}

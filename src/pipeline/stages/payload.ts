import type { Doc, Vars } from "../../mql/index.ts";
import type { InnerLocation, PlanContext } from "../context.ts";
import type { Spec } from "../spec.ts";

type PayloadFn = (doc: Doc, vars?: Vars) => Doc | undefined;

/**
 * `payload`: an inner pipeline of `$project/$addFields/$set/$replaceRoot` building a request body. Returns
 * `null` when absent (the whole document is sent), undefined when invalid.
 */
export function planPayload(spec: Spec, ctx: PlanContext, stage: string): PayloadFn | null | undefined {
  if (!spec.has("payload")) return null;
  const location: InnerLocation = { kind: "payload", stage };
  const stages = ctx.planInner(spec.raw("payload"), spec.fieldPath("payload"), location);
  if (!stages) return undefined;
  const steps: PayloadFn[] = [];
  for (const plan of stages) if (plan.kind === "transform") steps.push(plan.apply);
  return (doc, vars) => {
    let current: Doc | undefined = doc;
    for (const step of steps) {
      if (current === undefined) return undefined;
      current = step(current, vars);
    }
    return current;
  };
}

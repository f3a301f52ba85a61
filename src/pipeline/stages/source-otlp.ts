import type { PlanContext } from "../context.ts";
import type { SourcePlan } from "../plan.ts";
import { Spec } from "../spec.ts";
import { COMMON_SOURCE_FIELDS, planSourceCommon } from "./source.ts";

export const OTLP_FIELDS = ["signal"] as const;
const SIGNALS = ["traces", "metrics", "logs"] as const;

/** `$source: {connectionName: <OTLP connection>, signal: "traces" | "metrics" | "logs"}` (an Eddy extension). */
export function planOtlpSource(
  value: unknown,
  path: string,
  ctx: PlanContext,
  connectionName: string,
): SourcePlan | undefined {
  const spec = Spec.open(value, path, "$source", ctx.issues, [...COMMON_SOURCE_FIELDS, ...OTLP_FIELDS]);
  if (!spec) return undefined;
  const signal = spec.has("signal")
    ? spec.enumOf("signal", SIGNALS)
    : spec.error("signal", '$source on an OTLP connection needs signal: "traces", "metrics" or "logs"');
  const common = planSourceCommon(spec, ctx);
  if (spec.hasIssuesSinceOpen() || !common || !signal) return undefined;
  return { kind: "otlp", connectionName, signal, ...common };
}

import type { PlanContext } from "../context.ts";
import type { WindowStagePlan } from "../plan.ts";

/** `$count: "<field>"` inside a window (the server's `$group` + `$project` rewrite; server messages). */
export function planCount(value: unknown, path: string, ctx: PlanContext): WindowStagePlan | undefined {
  const problem =
    typeof value !== "string" || value === ""
      ? "the count field must be a non-empty string"
      : value.startsWith("$")
        ? "the count field cannot be a $-prefixed path"
        : value.includes(".")
          ? "the count field cannot contain '.'"
          : undefined;
  if (problem !== undefined || typeof value !== "string") {
    ctx.issues.add(path, problem ?? "the count field must be a non-empty string");
    return undefined;
  }
  return { kind: "count", operatorName: "GroupOperator", path, field: value };
}

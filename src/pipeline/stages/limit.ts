import { isNumber, toJsNumber } from "../../mql/bson-types.ts";
import type { PlanContext } from "../context.ts";
import type { WindowStagePlan } from "../plan.ts";

/** `$limit: <positive integer>` inside a window (server messages). */
export function planLimit(value: unknown, path: string, ctx: PlanContext): WindowStagePlan | undefined {
  if (!isNumber(value)) {
    ctx.issues.add(path, "the limit must be specified as a number");
    return undefined;
  }
  const limit = toJsNumber(value);
  if (!Number.isInteger(limit)) {
    ctx.issues.add(
      path,
      `invalid argument to $limit stage: Cannot represent as a 64-bit integer: $limit: ${limit}`,
    );
    return undefined;
  }
  if (limit <= 0) {
    ctx.issues.add(path, "the limit must be positive");
    return undefined;
  }
  return { kind: "limit", operatorName: "LimitOperator", path, limit };
}

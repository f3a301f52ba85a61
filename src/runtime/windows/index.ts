import type { WindowPlan } from "../../pipeline/plan.ts";
import type { RunContext } from "../context.ts";
import type { StatsCollector } from "../stats.ts";
import { InnerPipeline } from "./inner-pipeline.ts";
import { SessionWindowRunner } from "./session-windows.ts";
import { TimeWindowRunner } from "./time-windows.ts";
import type { WindowRunner } from "./window-runner.ts";

export type { WindowRunner } from "./window-runner.ts";
export type { WindowMeta } from "./inner-pipeline.ts";
export { StateLimitExceededError, WindowStateMismatchError } from "./errors.ts";
export { checkStateLimit } from "./state-limit.ts";

/** Builds the operator for a `$tumblingWindow` / `$hoppingWindow` / `$sessionWindow` stage. */
export function createWindowRunner(
  plan: WindowPlan,
  operatorName: string,
  options: { ctx: RunContext; stats: StatsCollector; sourceType: string },
): WindowRunner {
  const op = options.stats.operator(operatorName);
  const session = plan.type === "session";
  const inner = new InnerPipeline(plan.pipeline, { ...options, allowIncremental: !session });
  return session
    ? new SessionWindowRunner(plan, inner, options.ctx, op)
    : new TimeWindowRunner(plan, inner, options.ctx, op);
}

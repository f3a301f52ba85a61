/** The connection names a plan uses (source, stages, window stages, sink, DLQ). */
import type { ProcessorPlan } from "../pipeline/plan.ts";

export function connectionsOfPlan(plan: ProcessorPlan): Set<string> {
  const names = new Set<string>();
  const add = (name: string | undefined): void => {
    if (name !== undefined) names.add(name);
  };
  if ("connectionName" in plan.source) add(plan.source.connectionName);
  for (const stage of plan.stages) {
    if ("connectionName" in stage) add(stage.connectionName);
    if (stage.kind === "window") {
      for (const inner of stage.window.pipeline) if ("connectionName" in inner) add(inner.connectionName);
    }
  }
  if (plan.sink && "connectionName" in plan.sink) add(plan.sink.connectionName);
  add(plan.dlq?.connectionName);
  return names;
}

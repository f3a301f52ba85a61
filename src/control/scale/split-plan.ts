/**
 * How a scaled-out processor's plan divides between a task's two halves (docs/scale-out.md): the reader
 * runs the stages before the window and writes to the repartition topic; the windows half reads it and runs
 * the window and everything after it into the sink.
 */
import type { Evaluator } from "../../mql/index.ts";
import type { ProcessorPlan, WindowPlan } from "../../pipeline/plan.ts";

export interface RepartitionSplit {
  /** The source and the stages before the window (all of them, with the sink, when there is no window). */
  readonly reader: ProcessorPlan;
  /** The window and the stages after it, reading the repartition topic; undefined without a window. */
  readonly windows: ProcessorPlan | undefined;
  /** What records are repartitioned by; undefined: all go to one partition (the window has no group key). */
  readonly key: Evaluator | undefined;
  /** Why records are repartitioned by that key, for `sp lint` and the docs. */
  readonly explanation: string;
}

export function splitForRepartition(plan: ProcessorPlan): RepartitionSplit {
  const at = plan.stages.findIndex((stage) => stage.kind === "window");
  if (at < 0) {
    return {
      reader: plan,
      windows: undefined,
      key: undefined,
      explanation: "no window: each task runs the whole pipeline on its partitions, nothing is repartitioned",
    };
  }
  const stage = plan.stages[at];
  const window = stage.kind === "window" ? stage.window : undefined;
  const { key, explanation } = groupKeyOf(window);
  return {
    reader: { ...plan, stages: plan.stages.slice(0, at), sink: undefined },
    windows: {
      ...plan,
      // Event time was computed by the reader and travels as the message timestamp.
      source: { ...plan.source, timeField: undefined },
      stages: plan.stages.slice(at),
    },
    key,
    explanation,
  };
}

function groupKeyOf(window: WindowPlan | undefined): { key: Evaluator | undefined; explanation: string } {
  if (!window) return { key: undefined, explanation: "" };
  if (window.type === "session" && window.partitionBy)
    return {
      key: window.partitionBy,
      explanation: "records are repartitioned by the session window's partitionBy",
    };
  const first = window.pipeline[0];
  if (first?.kind === "group")
    return {
      key: first.group.key,
      explanation:
        "records are repartitioned by the window's $group _id, so every key's windows live in one task",
    };
  return {
    key: undefined,
    explanation:
      "the window's pipeline does not start with $group: every record goes to one repartition partition " +
      "(one task holds the window; the reading and the stages before the window still run in parallel)",
  };
}

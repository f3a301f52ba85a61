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
  /**
   * The stages before the window only filter (`$match`), so records reach the repartition step as their
   * source decoded them and are forwarded as their source messages rather than re-encoded.
   */
  readonly forwardsSourceMessages: boolean;
}

export function splitForRepartition(plan: ProcessorPlan): RepartitionSplit {
  const at = plan.stages.findIndex((stage) => stage.kind === "window");
  if (at < 0) {
    return {
      reader: plan,
      windows: undefined,
      key: undefined,
      explanation: "no window: each task runs the whole pipeline on its partitions, nothing is repartitioned",
      forwardsSourceMessages: false,
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
    forwardsSourceMessages: plan.stages.slice(0, at).every((before) => before.kind === "match"),
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
      explanation: "records are repartitioned by the window's $group _id",
    };
  return {
    key: undefined,
    explanation:
      "the window's pipeline does not start with $group: every record goes to one repartition partition " +
      "(one task holds the window; the reading and the stages before the window still run in parallel)",
  };
}

/**
 * What running `plan` scaled out costs, in sentences for `sp lint`: whether its records are repartitioned,
 * by what, through which topic, and what that costs (docs/scale-out.md). Empty without `options.parallelism`.
 */
export function explainScaleOut(plan: ProcessorPlan): string[] {
  const tasks = plan.parallelism ?? 1;
  if (tasks <= 1) return [];
  const split = splitForRepartition(plan);
  const lines = [`runs as up to ${tasks} tasks over the sp serve instances sharing a state store`];
  if (!split.windows) {
    lines.push(
      "no window: each task runs the whole pipeline on the source partitions Kafka assigns it; nothing is " +
        "repartitioned, and each partition checkpoints on its own",
    );
    return lines;
  }
  const at = plan.stages.findIndex((stage) => stage.kind === "window");
  const key = groupKeyText(plan.definition.pipeline, at);
  lines.push(
    `${split.explanation}${key ? ` (${key})` : ""}, so each key's ` +
      `windows live in exactly one task: every record is written once more to the internal topic ` +
      `'eddy-${plan.name}-repartition' (created with the source topic's partition count) and read back by ` +
      "the task holding its key's partition",
    "cost: one extra produce and fetch per record (about the input's bytes again in broker traffic and " +
      "disk) and a few milliseconds of latency; the stages before the window run in the reading task; " +
      "Eddy repartitions every windowed processor, even one keyed by the Kafka message key",
  );
  return lines;
}

/** The window's `$group._id` (or session `partitionBy`) as written, for the explanation. */
function groupKeyText(pipeline: readonly unknown[], windowAt: number): string | undefined {
  // The window stage's index in the definition: the source is stage 0, so plan stage i is pipeline[i + 1].
  const stage = pipeline[windowAt + 1] as Record<string, { pipeline?: unknown[]; partitionBy?: unknown }>;
  const spec = stage ? Object.values(stage)[0] : undefined;
  if (spec?.partitionBy !== undefined) return `partitionBy ${JSON.stringify(spec.partitionBy)}`;
  const first = spec?.pipeline?.[0] as { $group?: { _id?: unknown } } | undefined;
  return first?.$group ? `_id ${JSON.stringify(first.$group._id ?? null)}` : undefined;
}

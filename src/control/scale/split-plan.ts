/**
 * Whether a scaled-out processor repartitions, and how its plan then divides between a task's two halves
 * (docs/scale-out.md): the reader runs the stages before the window and writes to the repartition topic; the
 * windows half reads it and runs the window and everything after it into the sink. Without a window, or
 * with one keyed by the Kafka message key, nothing is repartitioned and each source partition runs it all.
 */
import type { Evaluator } from "../../mql/index.ts";
import type { ProcessorPlan, WindowPlan } from "../../pipeline/plan.ts";

/** Whether and why a scaled-out processor repartitions (docs/scale-out.md, "When records are repartitioned"). */
export type RepartitionCase =
  /** No window: nothing keyed, each source partition runs the whole pipeline. */
  | "no-window"
  /** The window's key includes the Kafka message key: a key's records already share a source partition. */
  | "message-key"
  /** The window is keyed by something else: records go through the repartition topic by that key. */
  | "group-key"
  /** The window has no key (no `$group`): every record goes to one repartition partition. */
  | "global-window";

export interface RepartitionSplit {
  readonly case: RepartitionCase;
  /** The source and the stages before the window (the whole plan, with the sink, when nothing is repartitioned). */
  readonly reader: ProcessorPlan;
  /** The window and the stages after it, reading the repartition topic; undefined: nothing is repartitioned. */
  readonly windows: ProcessorPlan | undefined;
  /** What records are repartitioned by; undefined: all go to one partition (the window has no group key). */
  readonly key: Evaluator | undefined;
  /** Why, in a sentence for `sp lint` and the docs. */
  readonly explanation: string;
  /** Why a window key that includes the message key is repartitioned all the same (several topics…). */
  readonly messageKeyBlocked?: string;
  /**
   * The stages before the window only filter (`$match`), so records reach the repartition step as their
   * source decoded them and are forwarded as their source messages rather than re-encoded.
   */
  readonly forwardsSourceMessages?: boolean;
}

export function splitForRepartition(plan: ProcessorPlan): RepartitionSplit {
  const at = plan.stages.findIndex((stage) => stage.kind === "window");
  if (at < 0) {
    return {
      case: "no-window",
      reader: plan,
      windows: undefined,
      key: undefined,
      explanation:
        "no window (no keyed state): each task runs the whole pipeline on the source partitions Kafka " +
        "assigns it; nothing is repartitioned, and each partition checkpoints on its own",
    };
  }
  const byMessageKey = messageKeyWindow(plan);
  if (byMessageKey.keyed) {
    return {
      case: "message-key",
      reader: plan,
      windows: undefined,
      key: undefined,
      explanation: byMessageKey.why,
    };
  }
  const stage = plan.stages[at];
  const window = stage.kind === "window" ? stage.window : undefined;
  const { key, explanation } = groupKeyOf(window);
  return {
    case: key ? "group-key" : "global-window",
    reader: { ...plan, stages: plan.stages.slice(0, at), sink: undefined },
    windows: {
      ...plan,
      // Event time was computed by the reader and travels as the message timestamp.
      source: { ...plan.source, timeField: undefined },
      stages: plan.stages.slice(at),
    },
    key,
    explanation,
    ...(byMessageKey.why ? { messageKeyBlocked: byMessageKey.why } : {}),
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

const WINDOW_STAGES = new Set(["$tumblingWindow", "$hoppingWindow", "$sessionWindow"]);
const MESSAGE_KEY_PATH = "$_stream_meta.source.key";

/**
 * Whether the window's key determines the Kafka message key, so that records of one window key are all in
 * one source partition (the producer partitions by message key) and no repartition is needed: the key is
 * `$_stream_meta.source.key` or `{$meta: "stream.source.key"}`, alone or as a part of a document or array
 * key, and no stage before the window can change it. `why` says why it is not, when it nearly is.
 */
function messageKeyWindow(plan: ProcessorPlan): { keyed: boolean; why: string } {
  const pipeline = plan.definition.pipeline;
  const at = pipeline.findIndex((stage) => WINDOW_STAGES.has(stageName(stage)));
  const key = at < 0 ? undefined : windowKeyOf(pipeline[at]);
  if (key === undefined || !includesMessageKey(key.value)) return { keyed: false, why: "" };
  const topics = (plan.source.options as { topics?: readonly string[] }).topics ?? [];
  if (topics.length !== 1)
    return {
      keyed: false,
      why:
        `the ${key.name} includes the message key, but the source reads ${topics.length} topics (one key ` +
        "can be in a different partition of each)",
    };
  const rewriting = pipeline.slice(1, at).find((stage) => !keepsMessageKey(stage));
  if (rewriting !== undefined)
    return {
      keyed: false,
      why:
        `the ${key.name} includes the message key, but ${stageName(rewriting)} before the window may ` +
        "change _stream_meta",
    };
  return {
    keyed: true,
    why:
      `the window's ${key.name} includes the Kafka message key, and the records of one message key are ` +
      "already in one source partition: nothing is repartitioned; each task runs the whole pipeline on the " +
      "source partitions Kafka assigns it, each partition with its own checkpoint and watermark",
  };
}

function stageName(stage: unknown): string {
  return typeof stage === "object" && stage !== null ? (Object.keys(stage)[0] ?? "") : "";
}

/** The window's key as written: a session's `partitionBy`, else its first stage's `$group._id`. */
function windowKeyOf(stage: unknown): { name: string; value: unknown } | undefined {
  const spec = Object.values(stage as Record<string, unknown>)[0] as
    { pipeline?: unknown[]; partitionBy?: unknown } | undefined;
  if (spec?.partitionBy !== undefined) return { name: "partitionBy", value: spec.partitionBy };
  const first = spec?.pipeline?.[0] as { $group?: { _id?: unknown } } | undefined;
  return first?.$group ? { name: "$group _id", value: first.$group._id ?? null } : undefined;
}

/** The message key itself, or a document or array literal one of whose parts includes it. */
function includesMessageKey(expression: unknown): boolean {
  if (expression === MESSAGE_KEY_PATH) return true;
  if (Array.isArray(expression)) return expression.some(includesMessageKey);
  if (typeof expression !== "object" || expression === null) return false;
  const entries = Object.entries(expression);
  if (entries.length === 1 && entries[0][0] === "$meta") return entries[0][1] === "stream.source.key";
  // An operator ({$concat: …}, {$toLower: …}) may map several message keys to one value: not the key.
  return entries.every(([field]) => !field.startsWith("$")) && entries.some(([, v]) => includesMessageKey(v));
}

/** Whether a stage before the window leaves `_stream_meta.source` alone (unknown stages: assume not). */
function keepsMessageKey(stage: unknown): boolean {
  const name = stageName(stage);
  const spec = (stage as Record<string, unknown>)[name];
  const field = (value: unknown) => typeof value !== "string" || !touchesSourceMeta(value.replace(/^\$/, ""));
  switch (name) {
    case "$match":
    case "$validate":
      return true;
    case "$set":
    case "$addFields":
      return typeof spec === "object" && spec !== null && Object.keys(spec).every(field);
    case "$unset":
      return [spec].flat().every(field);
    case "$unwind":
      return field(typeof spec === "string" ? spec : (spec as { path?: unknown } | undefined)?.path);
    case "$lookup":
    case "$cachedLookup":
    case "$https":
    case "$externalFunction":
      return field((spec as { as?: unknown } | undefined)?.as);
    case "$setStreamMeta":
      return Object.keys(spec as object).every((key) => !/^stream\.source(\.|$)|^stream$/.test(key));
    default:
      return false;
  }
}

function touchesSourceMeta(path: string): boolean {
  return path === "_stream_meta" || path === "_stream_meta.source" || path.startsWith("_stream_meta.source.");
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
  if (split.case === "no-window") return [...lines, split.explanation];
  if (split.case === "message-key")
    return [
      ...lines,
      split.explanation,
      "this relies on the producers partitioning by message key (Kafka's default partitioner does); " +
        "messages without a key are spread over the partitions, so their window (key null) is computed " +
        "per partition, and keys that $group calls equal but whose bytes differ (JSON 1 and 1.0) may be in " +
        "different partitions",
    ];
  const key = groupKeyText(plan.definition.pipeline);
  lines.push(
    `${split.explanation}${key ? ` (${key})` : ""}, so each key's ` +
      `windows live in exactly one task: every record is written once more to the internal topic ` +
      `'eddy-${plan.name}-repartition' (created with the source topic's partition count) and read back by ` +
      "the task holding its key's partition",
    "cost: one extra produce and fetch per record (about the input's bytes again in broker traffic and " +
      "disk) and a few milliseconds of latency; the stages before the window run in the reading task" +
      (split.messageKeyBlocked
        ? ""
        : "; grouping by the Kafka message key ($_stream_meta.source.key) would need no repartition"),
  );
  if (split.messageKeyBlocked) lines.push(`${split.messageKeyBlocked}: repartitioned all the same`);
  return lines;
}

/** The window's `$group._id` (or session `partitionBy`) as written, for the explanation. */
function groupKeyText(pipeline: readonly unknown[]): string | undefined {
  const window = pipeline.find((stage) => WINDOW_STAGES.has(stageName(stage)));
  const key = window === undefined ? undefined : windowKeyOf(window);
  if (!key) return undefined;
  return `${key.name === "partitionBy" ? "partitionBy" : "_id"} ${JSON.stringify(key.value)}`;
}

import { compileExpression, type Evaluator } from "../../mql/index.ts";
import { compileAt, type PlanContext } from "../context.ts";
import { DURATION_UNITS, readDuration, readDurationOrZero } from "../duration.ts";
import type { StagePlan, WindowStagePlan } from "../plan.ts";
import { Spec } from "../spec.ts";

type WindowType = "tumbling" | "hopping" | "session";

const WINDOW_TYPES: Readonly<Record<string, WindowType>> = {
  $tumblingWindow: "tumbling",
  $hoppingWindow: "hopping",
  $sessionWindow: "session",
};

const COMMON_FIELDS = ["pipeline", "boundary", "allowedLateness"];
const FIELDS: Readonly<Record<WindowType, readonly string[]>> = {
  tumbling: [...COMMON_FIELDS, "interval", "idleTimeout", "offset"],
  hopping: [...COMMON_FIELDS, "interval", "hopSize", "idleTimeout", "offset"],
  session: [...COMMON_FIELDS, "gap", "partitionBy"],
};

const DEFAULT_ALLOWED_LATENESS_MS = 3000;
const MAX_ALLOWED_LATENESS_MS = 30 * 60_000;
const OFFSET_UNITS = ["ms", "second", "minute", "hour"] as const;

export function isWindowStage(name: string): boolean {
  return name in WINDOW_TYPES;
}

/** `$tumblingWindow`, `$hoppingWindow`, `$sessionWindow` (docs/asp-semantics.md §4.1). */
export function planWindow(
  value: unknown,
  path: string,
  ctx: PlanContext,
  stageName: string,
): StagePlan | undefined {
  const type = WINDOW_TYPES[stageName];
  const spec = Spec.open(value, path, stageName, ctx.issues, FIELDS[type]);
  if (!spec) return undefined;

  const boundary = spec.enumOf("boundary", ["eventTime", "processingTime"] as const) ?? "eventTime";
  const interval =
    type === "session"
      ? undefined
      : positiveDuration(spec, "interval", "Window interval size must be greater than 0.");
  const hop =
    type === "hopping"
      ? positiveDuration(spec, "hopSize", "Window hopSize size must be greater than 0.")
      : undefined;
  const gap =
    type === "session" ? positiveDuration(spec, "gap", "Window gap size must be greater than 0.") : undefined;
  const lateness = readDurationOrZero(
    spec,
    "allowedLateness",
    "Must specify unit and size for non-zero allowed lateness values",
  );
  if (lateness && lateness.ms > MAX_ALLOWED_LATENESS_MS)
    spec.error("allowedLateness", "Maximum allowedLateness is 30 minutes");
  const idle = readDurationOrZero(
    spec,
    "idleTimeout",
    "Must specify unit and size for non-zero idle timeout values",
  );
  if (boundary === "processingTime") {
    for (const field of ["allowedLateness", "idleTimeout"]) {
      if (spec.has(field)) spec.error(field, `${field} is not allowed when boundary is processingTime`);
    }
  }
  const offsetMs = readOffset(spec);
  const partitionBy = type === "session" ? readPartitionBy(spec, ctx) : undefined;

  const pipelinePath = spec.fieldPath("pipeline");
  const pipeline = spec.has("pipeline")
    ? (ctx.planInner(spec.raw("pipeline"), pipelinePath, { kind: "window", stage: stageName }) as
        WindowStagePlan[] | undefined)
    : spec.missing("pipeline");
  if (pipeline && type === "session") checkSessionPipeline(pipeline, pipelinePath, ctx);
  if (spec.hasIssuesSinceOpen() || !pipeline) return undefined;

  const intervalMs = interval ?? 0;
  return {
    kind: "window",
    operatorName: "WindowOperator",
    path,
    window: {
      type,
      intervalMs,
      hopMs: type === "hopping" ? (hop ?? 0) : type === "tumbling" ? intervalMs : 0,
      gapMs: gap ?? 0,
      offsetMs,
      allowedLatenessMs: boundary === "processingTime" ? 0 : (lateness?.ms ?? DEFAULT_ALLOWED_LATENESS_MS),
      idleTimeoutMs: idle && idle.ms > 0 ? idle.ms : undefined,
      boundary,
      partitionBy,
      pipeline,
    },
  };
}

function positiveDuration(spec: Spec, field: string, message: string): number | undefined {
  const duration = readDuration(spec, field, true);
  if (duration && duration.size <= 0) return spec.error(`${field}.size`, message);
  return duration?.ms;
}

/** `offset: {offsetFromUtc: <int>, unit}` shifts every window boundary. */
function readOffset(spec: Spec): number {
  const offset = spec.object("offset", ["offsetFromUtc", "unit"]);
  if (!offset) return 0;
  const size = offset.int("offsetFromUtc", true);
  const unit = offset.enumOf("unit", OFFSET_UNITS, true);
  return size !== undefined && unit !== undefined ? size * DURATION_UNITS[unit] : 0;
}

function readPartitionBy(spec: Spec, ctx: PlanContext): Evaluator | undefined {
  if (!spec.has("partitionBy")) return spec.missing("partitionBy");
  const path = spec.fieldPath("partitionBy");
  return compileAt(ctx, path, () => compileExpression(spec.raw("partitionBy"), { path }));
}

/** A session pipeline needs a blocking `$group`/`$sort`, and no `$limit` before it. */
function checkSessionPipeline(pipeline: readonly WindowStagePlan[], path: string, ctx: PlanContext): void {
  const blocking = pipeline.findIndex((stage) => stage.kind === "group" || stage.kind === "sort");
  if (blocking < 0) {
    ctx.issues.add(
      path,
      "The $sessionWindow.pipeline isn't supported, there must be a $group or $sort in the pipeline.",
    );
    return;
  }
  const limit = pipeline.findIndex((stage) => stage.kind === "limit");
  if (limit >= 0 && limit < blocking) {
    ctx.issues.add(
      pipeline[limit].path,
      "$limit is not allowed before the first $group or $sort of a $sessionWindow pipeline",
    );
  }
}

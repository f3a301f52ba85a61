import { isPlainObject } from "../mql/bson-types.ts";
import type { Doc } from "../mql/index.ts";
import type { AnyStagePlan, InnerLocation, PlanContext } from "./context.ts";
import { resolveConnection } from "./context.ts";
import type { ConnectorCatalog, DlqForm } from "./connector-specs.ts";
import { IssueList } from "./errors.ts";
import type { ConnectionCatalog, DlqTarget, ProcessorPlan, SinkPlan, SourcePlan, StagePlan } from "./plan.ts";
import { Spec } from "./spec.ts";
import { stageEntry } from "./stages/index.ts";
import { planSource } from "./stages/source.ts";
import { isWindowStage } from "./stages/window.ts";
import { checkUnsupportedVariables } from "./variables.ts";

export interface PlanOptions {
  readonly connections: ConnectionCatalog;
  /** The connection types this build knows: `src/connectors/registry.ts`'s CONNECTORS. */
  readonly connectors: ConnectorCatalog;
  /** `sp process`: the sink may be omitted (output goes to stdout). */
  readonly ephemeral?: boolean;
  /** Name used when the definition is a bare pipeline array or has no `name`. */
  readonly defaultName?: string;
}

export const NEEDS_SINK_MESSAGE =
  "The last stage in the pipeline must be $merge or $emit. A persistent processor needs a sink; " +
  "to run this pipeline without one and print its output, use `sp process`.";

const SINK_KINDS: ReadonlySet<string> = new Set(["merge", "emit", "connector"]);
const ONE_FIELD = "A pipeline stage specification object must contain exactly one field.";

/**
 * Validates a processor definition — `{name, pipeline, options}` or a bare pipeline array — and compiles it into
 * a ProcessorPlan. Throws a PlanError listing every problem found (each stage is checked even after an
 * earlier one failed).
 */
export function planProcessor(definition: unknown, options: PlanOptions): ProcessorPlan {
  const issues = new IssueList();
  const parsed = parseDefinition(definition, options, issues);
  const pipeline = parsed?.pipeline ?? [];
  const names = pipeline.map(stageNameOf);
  const ctx: PlanContext = {
    issues,
    connections: options.connections,
    connectors: options.connectors,
    ephemeral: options.ephemeral ?? false,
    processorName: parsed?.name ?? options.defaultName ?? "processor",
    hasDlq: false,
    hasWindow: names.some((name) => name !== undefined && isWindowStage(name)),
    planInner: (stages, path, location) => planInner(stages, path, location, ctx),
  };
  const dlq = parsed ? readDlq(parsed.options, { ...ctx }) : undefined;
  const parallelism = parsed ? readParallelism(parsed.options, issues) : 1;
  const fullCtx: PlanContext = {
    ...ctx,
    hasDlq: dlq !== undefined,
    planInner: (s, p, l) => planInner(s, p, l, fullCtx),
  };
  const body = parsed ? planMain(pipeline, names, fullCtx) : undefined;
  if (parsed) checkUnsupportedVariables(pipeline, issues);
  if (parallelism > 1 && body?.source && body.source.type !== "Kafka")
    issues.add(
      "options.parallelism",
      "parallelism above 1 needs a Kafka $source (its partitions are split between the tasks); a change " +
        "stream or any other source is read by one task only, so leave parallelism out (docs/scale-out.md)",
    );
  issues.throwIfAny();
  if (!parsed || !body?.source) throw new Error("planner invariant: no issues but no source");
  return {
    name: fullCtx.processorName,
    source: body.source,
    stages: body.stages,
    sink: body.sink,
    dlq,
    ...(parallelism > 1 ? { parallelism } : {}),
    definition: { name: fullCtx.processorName, pipeline, options: parsed.options },
  };
}

interface Definition {
  readonly name: string | undefined;
  readonly pipeline: unknown[];
  readonly options: Doc;
}

function parseDefinition(
  definition: unknown,
  options: PlanOptions,
  issues: IssueList,
): Definition | undefined {
  if (Array.isArray(definition)) return { name: options.defaultName, pipeline: definition, options: {} };
  if (!isPlainObject(definition)) {
    issues.add("", "A processor definition must be {name, pipeline, options} or a pipeline array");
    return undefined;
  }
  const spec = Spec.open(definition, "", "", issues, ["name", "pipeline", "options"]);
  if (!spec) return undefined;
  const name = spec.string("name");
  if (name === "") spec.error("name", "The processor name must not be empty");
  const pipeline = spec.array("pipeline", true);
  const opts = spec.has("options") ? spec.doc("options") : {};
  if (!pipeline || !opts) return undefined;
  return { name: name || options.defaultName, pipeline, options: opts };
}

/**
 * `options.dlq`: `{connectionName, …}` read by the DLQ form of the connection's type (Cluster `{db, coll}`, an
 * Eddy extension Kafka `{topic}`); a type's form applies when its required fields are all there, else the
 * registry's first DLQ form (ASP's Cluster) does and reports what does not fit it. `{}` means none.
 */
function readDlq(options: Doc, ctx: PlanContext): DlqTarget | undefined {
  const spec = Spec.open(options, "options", "options", ctx.issues, ["dlq", "tier", "parallelism"]);
  spec?.string("tier");
  if (!spec?.has("dlq") || (isPlainObject(options.dlq) && Object.keys(options.dlq).length === 0))
    return undefined;
  const forms = ctx.connectors.specs.flatMap((type) =>
    type.dlq ? [{ type: type.type, form: type.dlq }] : [],
  );
  const fieldsOf = (form: DlqForm<unknown>) => Object.keys(form.fields.properties);
  const dlq = spec.object("dlq", ["connectionName", ...new Set(forms.flatMap(({ form }) => fieldsOf(form)))]);
  if (!dlq || forms.length === 0) return undefined;
  const named = ctx.connections.get(String(dlq.raw("connectionName")));
  const chosen =
    forms.find(
      ({ type, form }) =>
        type === named?.type && (form.fields.required ?? []).every((field) => dlq.has(field)),
    ) ?? forms[0];
  const target = chosen.form.plan(dlq);
  const connection = resolveConnection(ctx, dlq, "connectionName", [chosen.type], chosen.form.mismatch);
  const own = fieldsOf(chosen.form);
  for (const { type, form } of forms) {
    if (form === chosen.form) continue;
    // Another type's complete form on this connection, or a stray field of it.
    const complete = (form.fields.required ?? []).every((field) => dlq.has(field));
    for (const field of fieldsOf(form).filter((name) => !own.includes(name) && dlq.has(name))) {
      dlq.error(
        field,
        complete
          ? `a ${field} needs a ${type} connection for the dead letter queue`
          : `a ${chosen.type} dead letter queue takes a ${own.join(" and ")}, not ${field}`,
      );
    }
  }
  if (!connection || target === undefined || dlq.hasIssuesSinceOpen()) return undefined;
  return { connectionName: connection.name, ...(target as object) };
}

/** Most tasks a processor may run as: more than any topic's partitions would only idle. */
export const MAX_PARALLELISM = 256;

/**
 * `options.parallelism` (an Eddy extension, docs/scale-out.md): how many tasks a Kafka-sourced processor runs
 * as across the `sp serve` instances sharing a state store. Other sources have one reader (a change stream
 * has one resume token), so they refuse it.
 */
function readParallelism(options: Doc, issues: IssueList): number {
  const value = options.parallelism;
  if (value === undefined) return 1;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_PARALLELISM) {
    issues.add("options.parallelism", `parallelism must be an integer from 1 to ${MAX_PARALLELISM}`);
    return 1;
  }
  return value;
}

function stageNameOf(stage: unknown): string | undefined {
  if (!isPlainObject(stage)) return undefined;
  const keys = Object.keys(stage);
  return keys.length === 1 ? keys[0] : undefined;
}

interface Body {
  readonly source: SourcePlan | undefined;
  readonly stages: StagePlan[];
  readonly sink: SinkPlan | undefined;
}

function planMain(
  pipeline: readonly unknown[],
  names: ReadonlyArray<string | undefined>,
  ctx: PlanContext,
): Body {
  const { issues } = ctx;
  if (pipeline.length === 0) {
    issues.add("pipeline", "Pipeline must have at least one stage");
    return { source: undefined, stages: [], sink: undefined };
  }
  let source: SourcePlan | undefined;
  let sink: SinkPlan | undefined;
  let windowPath: string | undefined;
  let afterSinkReported = false;
  let lastFailed = false;
  const stages: StagePlan[] = [];
  if (names[0] !== "$source") {
    issues.add(
      "pipeline[0]",
      `First stage must be $source, found: ${names[0] ?? JSON.stringify(pipeline[0]) ?? "undefined"}`,
    );
  }
  pipeline.forEach((stage, i) => {
    const at = `pipeline[${i}]`;
    const name = names[i];
    if (name === undefined) {
      issues.add(at, ONE_FIELD);
      return;
    }
    const path = `${at}.${name}`;
    const spec = (stage as Doc)[name];
    const isLast = i === pipeline.length - 1;
    if (sink && !afterSinkReported) {
      issues.add(at, "No stages are allowed after a $merge or $emit stage.");
      afterSinkReported = true;
    }
    if (name === "$source") {
      if (i === 0) source = planSource(spec, path, ctx);
      else issues.add(at, "Only one $source stage is allowed, and it must be the first stage.");
      return;
    }
    const entry = stageEntry(name);
    if (!entry?.build) {
      issues.add(at, `Unsupported stage: ${name}`);
      return;
    }
    if (entry.main === "window-only") {
      issues.add(at, `${name} stage is only permitted in the inner pipeline of a window stage`);
      return;
    }
    if (isWindowStage(name)) {
      if (windowPath !== undefined) {
        issues.add(at, "Only one window stage is allowed in a pipeline.");
        return;
      }
      windowPath = at;
    }
    if (entry.main === "sink" && !isLast && !afterSinkReported) {
      issues.add(`pipeline[${i + 1}]`, "No stages are allowed after a $merge or $emit stage.");
      afterSinkReported = true;
    }
    const plan = entry.build(spec, path, ctx, name, isLast);
    if (!plan) {
      lastFailed = isLast && (name === "$https" || name === "$externalFunction");
      return;
    }
    if (SINK_KINDS.has(plan.kind)) sink ??= plan as SinkPlan;
    else stages.push(plan as StagePlan);
  });
  const lastName = names[pipeline.length - 1];
  // A sink-only stage is a sink even when invalid; a terminal $https/$externalFunction that failed may have been one.
  const endsWithSink =
    sink !== undefined || (lastName !== undefined && stageEntry(lastName)?.main === "sink") || lastFailed;
  if (!ctx.ephemeral && !endsWithSink) issues.add("pipeline", NEEDS_SINK_MESSAGE);
  return { source, stages, sink };
}

/** A nested pipeline (window `pipeline`, `$https`/`$externalFunction` `payload`) under its placement rules. */
function planInner(
  value: unknown,
  path: string,
  location: InnerLocation,
  ctx: PlanContext,
): AnyStagePlan[] | undefined {
  if (!Array.isArray(value)) {
    ctx.issues.add(
      path,
      `${location.stage}.${location.kind === "window" ? "pipeline" : "payload"} must be an array of stages`,
    );
    return undefined;
  }
  const errorsBefore = ctx.issues.size;
  const plans: AnyStagePlan[] = [];
  value.forEach((stage, i) => {
    const at = `${path}[${i}]`;
    const name = stageNameOf(stage);
    if (name === undefined) {
      ctx.issues.add(at, ONE_FIELD);
      return;
    }
    const entry = stageEntry(name);
    if (!entry) {
      ctx.issues.add(at, `Unsupported stage: ${name}`);
      return;
    }
    if (location.kind === "window" && !entry.window) {
      ctx.issues.add(at, `${name} stage is not permitted in the inner pipeline of a window stage`);
      return;
    }
    if (location.kind === "payload" && !entry.payload) {
      const article = location.stage === "$https" ? "an https" : "an externalFunction";
      ctx.issues.add(
        at,
        `${name} stage is not permitted in the payload (inner pipeline) of ${article} stage`,
      );
      return;
    }
    const plan = entry.build?.((stage as Doc)[name], `${at}.${name}`, ctx, name, false);
    if (plan) plans.push(plan as AnyStagePlan);
  });
  return ctx.issues.size > errorsBefore ? undefined : plans;
}

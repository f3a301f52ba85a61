import { compileGroup } from "../../src/mql/accumulators/group.ts";
import { compileExpression, type Doc, type Evaluator } from "../../src/mql/index.ts";
import type {
  ProcessorPlan,
  SourcePlan,
  StagePlan,
  WindowPlan,
  WindowStagePlan,
} from "../../src/pipeline/plan.ts";
import type {
  Clock,
  DlqWriter,
  Sink,
  SinkResult,
  Source,
  SourceBatch,
  SourceRecord,
} from "../../src/runtime/index.ts";
import { ProcessorRuntime } from "../../src/runtime/index.ts";

/** Hand-made plans for runtime tests (the planner is tested on its own). */
export function documentsPlan(stages: StagePlan[], source: Partial<SourcePlan> = {}): ProcessorPlan {
  return {
    name: "test",
    source: {
      type: "documents",
      connectionName: undefined,
      options: { documents: [] },
      timeField: undefined,
      tsFieldName: "_ts",
      partitionIdleTimeoutMs: undefined,
      ...source,
    },
    stages,
    sink: undefined,
    dlq: undefined,
    definition: { name: "test", pipeline: [], options: {} },
  };
}

/** timeField reading an ISO string (or Date) field; anything else is returned as is, so the runtime rejects it. */
export function timeFieldOf(field: string): Evaluator {
  return (doc) => {
    const value = doc[field];
    if (typeof value !== "string") return value;
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? value : date;
  };
}

export function match(predicate: (doc: Doc) => boolean): StagePlan {
  return { kind: "match", operatorName: "MatchOperator", path: "pipeline[1].$match", predicate };
}

export function addFields(fields: Record<string, unknown>): StagePlan {
  const compiled = Object.entries(fields).map(
    ([k, v]) => [k, compileExpression(v, { path: `$addFields.${k}` })] as const,
  );
  return {
    kind: "transform",
    operatorName: "AddFieldsOperator",
    path: "pipeline[1].$addFields",
    apply: (doc) => {
      const out = { ...doc };
      for (const [k, evaluate] of compiled) out[k] = evaluate(doc, {});
      return out;
    },
  };
}

export function group(spec: Record<string, unknown>): WindowStagePlan {
  return { kind: "group", operatorName: "GroupOperator", path: "$group", group: compileGroup(spec) };
}

export function windowStage(window: Partial<WindowPlan> & Pick<WindowPlan, "type" | "pipeline">): StagePlan {
  const plan: WindowPlan = {
    intervalMs: 0,
    hopMs: 0,
    gapMs: 0,
    offsetMs: 0,
    allowedLatenessMs: 0,
    idleTimeoutMs: undefined,
    boundary: "eventTime",
    partitionBy: undefined,
    ...window,
  };
  if (plan.type === "tumbling" && plan.hopMs === 0) (plan as { hopMs: number }).hopMs = plan.intervalMs;
  const name = { tumbling: "$tumblingWindow", hopping: "$hoppingWindow", session: "$sessionWindow" }[
    plan.type
  ];
  return { kind: "window", operatorName: "WindowOperator", path: `pipeline[1].${name}`, window: plan };
}

export class CollectSink implements Sink {
  readonly operatorName = "TestSinkOperator";
  readonly docs: Doc[] = [];
  readonly batches: number[] = [];
  async write(docs: readonly Doc[]): Promise<SinkResult> {
    this.docs.push(...docs);
    this.batches.push(docs.length);
    return { bytes: docs.length * 10 };
  }
  async close(): Promise<void> {}
}

export class MemoryDlq implements DlqWriter {
  readonly records: Doc[] = [];
  async write(records: readonly Doc[]): Promise<void> {
    this.records.push(...records);
  }
  async close(): Promise<void> {}
}

export class FakeClock implements Clock {
  t: number;
  constructor(t = 0) {
    this.t = t;
  }
  now(): number {
    return this.t;
  }
}

/** A step of a scripted source: documents (one batch) or idleness; `advance` moves the fake clock first. */
export type Step =
  | { docs: Doc[]; partition?: string | number; advance?: number }
  | { idle: true; advance?: number; idlePartitions?: number[] };

/** A source that replays steps, one batch per step; counts how far it has been read ahead. */
export class ScriptedSource implements Source {
  readonly type = "generated";
  readonly operatorName = "DocumentsDataSourceOperator";
  reads = 0;
  private readonly steps: Step[];
  private readonly clock: FakeClock | undefined;
  constructor(steps: Step[], clock?: FakeClock) {
    this.steps = steps;
    this.clock = clock;
  }
  async start(): Promise<void> {}
  async next(): Promise<SourceBatch | undefined> {
    const step = this.steps[this.reads++];
    if (!step) return undefined;
    if (this.clock && step.advance) this.clock.t += step.advance;
    if ("idle" in step) return { records: [], idle: true, idlePartitions: step.idlePartitions };
    const records: SourceRecord[] = step.docs.map((doc) => ({
      doc: { ...doc },
      partition: step.partition ?? 0,
      timestamp: this.clock?.now() ?? 0,
      meta: undefined,
      size: 10,
    }));
    return { records };
  }
  positions(): Doc {
    return { reads: this.reads };
  }
  async close(): Promise<void> {}
}

export async function runPlan(
  plan: ProcessorPlan,
  source: Source,
  options: { clock?: Clock; dlq?: boolean; maxBatchesAhead?: number } = {},
) {
  const sink = new CollectSink();
  const dlq = new MemoryDlq();
  const runtime = new ProcessorRuntime(plan, {
    source,
    sink,
    dlq: options.dlq === false ? undefined : dlq,
    clock: options.clock,
    maxBatchesAhead: options.maxBatchesAhead,
  });
  const stats = await runtime.run();
  return { sink, dlq, stats, runtime, out: sink.docs };
}

/** Event at `seconds` on the epoch grid (timeField `t` as an ISO string). */
export function ev(seconds: number, fields: Doc = {}): Doc {
  return { t: new Date(seconds * 1000).toISOString(), ...fields };
}

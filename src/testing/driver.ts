/**
 * The processor test driver (`eddy/testing`, used by `sp test`): runs one test case through the real
 * planner and ProcessorRuntime with a virtual clock. The source is scripted from the case's steps, the
 * sink and the DLQ are captured, `$https` and `$lookup` read stubs; nothing touches a server and nothing
 * waits for the wall clock, so a one-hour window closes as soon as the case advances its watermark.
 */
import { connectionSettings } from "../connectors/connection-settings.ts";
import { createHttpsStage } from "../connectors/https/https-stage.ts";
import { createLookupStage } from "../connectors/mongodb/lookup-stage.ts";
import { CONNECTORS } from "../connectors/registry.ts";
import { isPlainObject, type Doc, type Evaluator } from "../mql/index.ts";
import { catalogOf, planProcessor } from "../pipeline/index.ts";
import type {
  ConnectionCatalog,
  ConnectionEntry,
  ConnectorStagePlan,
  ProcessorPlan,
} from "../pipeline/plan.ts";
import {
  ProcessorRuntime,
  type Clock,
  type DlqWriter,
  type ProcessorStats,
  type RunContext,
  type Sink,
  type Source,
  type SourceBatch,
  type StageRunner,
} from "../runtime/index.ts";
import type { StatsCollector } from "../runtime/stats.ts";
import { compareList, formatProblems, type ListProblem } from "./compare.ts";
import { stubCollections, stubFetch, type StubbedRequest } from "./stubs.ts";
import type { Expectation, TestCase, TestStep } from "./test-case.ts";

/** What a case produced, and how it compares with what it expects. */
export interface CaseResult {
  readonly name: string;
  readonly passed: boolean;
  /** Documents that reached the sink, in order. */
  readonly output: readonly Doc[];
  /** The same documents by where the sink would write them: `db.coll` (`$merge`, time series), the Kafka topic… */
  readonly targets: Readonly<Record<string, readonly Doc[]>>;
  /** Dead-letter records, in order (captured whether or not the processor sets `options.dlq`). */
  readonly dlq: readonly Doc[];
  /** `$https` requests the stubs saw. */
  readonly requests: readonly StubbedRequest[];
  readonly outputProblems: readonly ListProblem[];
  readonly dlqProblems: readonly ListProblem[];
  /** The processor failed (or could not be planned): the message. */
  readonly error: string | undefined;
  /** Readable lines explaining a failure; empty when the case passed. */
  readonly report: readonly string[];
  readonly stats: ProcessorStats | undefined;
}

export interface RunCaseOptions {
  /** The processor definition `{name, pipeline, options}` (or a bare pipeline). */
  readonly definition: unknown;
  /** The connections its pipeline names; built-ins (`sample_stream_solar`, `__testLog`) are always there. */
  readonly connections?: readonly ConnectionEntry[] | ConnectionCatalog;
  readonly testCase: TestCase;
}

const STUB_BASE_URL = "http://stub.invalid";

/** Source type and operator name of each connection type's `$source`, as the real connectors set them. */
const SOURCE_KINDS: Readonly<Record<string, readonly [string, string]>> = {
  documents: ["generated", "DocumentsDataSourceOperator"],
  Sample: ["generated", "SampleDataSourceOperator"],
  Kafka: ["kafka", "KafkaConsumerOperator"],
  Cluster: ["atlas", "ChangeStreamSourceOperator"],
  AtlasCollection: ["atlas", "ChangeStreamSourceOperator"],
  File: ["file", "FileSourceOperator"],
  Otlp: ["otlp", "OTLPSourceOperator"],
};

/** Runs one case; never throws for a failing processor (the result says why). */
export async function runTestCase(options: RunCaseOptions): Promise<CaseResult> {
  const { testCase } = options;
  const catalog =
    Array.isArray(options.connections) || options.connections === undefined
      ? catalogOf((options.connections as readonly ConnectionEntry[] | undefined) ?? [])
      : (options.connections as ConnectionCatalog);
  let plan: ProcessorPlan;
  try {
    plan = planProcessor(options.definition, {
      connections: catalog,
      connectors: CONNECTORS,
      ephemeral: true,
    });
  } catch (error) {
    return finish(testCase, {
      output: [],
      targets: {},
      dlq: [],
      requests: [],
      error: `the processor does not plan: ${(error as Error).message}`,
      stats: undefined,
    });
  }
  let now = testCase.start;
  const clock: Clock = { now: () => now };
  const output: Doc[] = [];
  const targets: Record<string, Doc[]> = {};
  const targetOf = sinkTarget(plan);
  const dlq: Doc[] = [];
  const requests: StubbedRequest[] = [];
  const source = new ScriptedSource(plan, withInlineDocuments(plan, testCase.steps), testCase.flush, {
    setTime: (time) => (now = Math.max(now, time)),
    advance: (ms) => (now += ms),
    now: () => now,
    ended: () => runtime.stop(),
  });
  const sink: Sink = {
    operatorName: plan.sink?.operatorName ?? "StdoutSinkOperator",
    write: async (docs) => {
      for (const doc of docs) {
        const copy = structuredClone(doc);
        output.push(copy);
        (targets[targetOf(copy)] ??= []).push(copy);
      }
      return { bytes: 0 };
    },
    close: async () => {},
  };
  const dlqWriter: DlqWriter = {
    write: async (records) => void dlq.push(...records.map((r) => structuredClone(r))),
    close: async () => {},
  };
  const fetch = stubFetch(testCase.stubs.https, requests);
  const collections = stubCollections(testCase.stubs.collections);
  const connectorStage = (stage: ConnectorStagePlan, ctx: RunContext, stats: StatsCollector): StageRunner => {
    if (stage.kind === "lookup" || stage.kind === "cachedLookup")
      return createLookupStage(stage, collections, ctx, stats);
    if (stage.kind === "https") {
      const settings = settingsOf(catalog, stage.connectionName);
      // A `{{VAR}}` base URL is not resolved under test: the stubs match on the path.
      const base = settings.url ?? settings.baseUrl;
      const url = typeof base === "string" && URL.canParse(base) ? base : STUB_BASE_URL;
      const headers = isPlainObject(settings.headers) ? (settings.headers as Record<string, string>) : {};
      return createHttpsStage(stage, { url, headers }, ctx, stats, { fetch, backoffMs: 0 });
    }
    throw new Error(`${stage.path}: sp test cannot run the ${stage.kind} stage yet`);
  };
  const outcome = (error: string | undefined, stats: ProcessorStats | undefined): CaseResult =>
    finish(testCase, { output, targets, dlq, requests, error, stats });
  let runtime: ProcessorRuntime;
  try {
    runtime = new ProcessorRuntime(plan, {
      source,
      sink,
      dlq: dlqWriter,
      clock,
      connectorStage,
      maxBatchesAhead: 1,
    });
  } catch (error) {
    return outcome((error as Error).message, undefined);
  }
  try {
    return outcome(undefined, await runtime.run());
  } catch (error) {
    return outcome(`the processor failed: ${(error as Error).message}`, runtime.stats());
  }
}

function finish(
  testCase: TestCase,
  run: {
    output: Doc[];
    targets: Record<string, Doc[]>;
    dlq: Doc[];
    requests: StubbedRequest[];
    error: string | undefined;
    stats: ProcessorStats | undefined;
  },
): CaseResult {
  const check = (expectation: Expectation | undefined, actual: readonly Doc[], runtimeFields: boolean) =>
    expectation === undefined ? [] : compareList(expectation, actual, runtimeFields);
  const outputProblems = check(testCase.output, run.output, true);
  const targetProblems = Object.entries(testCase.targets).map(
    ([target, expectation]) => [target, check(expectation, run.targets[target] ?? [], true)] as const,
  );
  const dlqProblems = check(testCase.dlq, run.dlq, false);
  const report: string[] = [];
  if (run.error !== undefined) report.push(run.error);
  if (testCase.output && outputProblems.length > 0)
    report.push(...formatProblems("output", outputProblems, run.output.length, testCase.output.docs.length));
  for (const [target, problems] of targetProblems)
    if (problems.length > 0)
      report.push(
        ...formatProblems(
          `output to ${target}`,
          problems,
          run.targets[target]?.length ?? 0,
          testCase.targets[target].docs.length,
        ),
      );
  if (testCase.dlq && dlqProblems.length > 0)
    report.push(...formatProblems("dlq", dlqProblems, run.dlq.length, testCase.dlq.docs.length));
  // Dead letters nobody expected usually explain a missing output: show them.
  if (report.length > 0 && !testCase.dlq)
    for (const record of run.dlq) report.push(`dead letter: ${describeDeadLetter(record)}`);
  return { name: testCase.name, passed: report.length === 0, ...run, outputProblems, dlqProblems, report };
}

/** Where the sink would write a document (evaluated as the sink does; `?` when the expression fails). */
function sinkTarget(plan: ProcessorPlan): (doc: Doc) => string {
  const sink = plan.sink;
  const safe = (evaluate: Evaluator | undefined, doc: Doc): string => {
    try {
      const vars = doc._stream_meta === undefined ? {} : { $stream: doc._stream_meta };
      const value = evaluate?.(doc, vars);
      return typeof value === "string" ? value : "?";
    } catch {
      return "?";
    }
  };
  if (!sink) return () => "stdout";
  if (sink.kind === "merge") return (doc) => `${safe(sink.db, doc)}.${safe(sink.coll, doc)}`;
  if (sink.kind === "emit") {
    const { topic, db, coll } = sink.evaluators;
    if (topic) return (doc) => safe(topic, doc);
    if (db && coll) return (doc) => `${safe(db, doc)}.${safe(coll, doc)}`;
  }
  return () => sink.connectionName;
}

function describeDeadLetter(record: Doc): string {
  const info = record.errInfo;
  if (isPlainObject(info) && typeof info.reason === "string") return info.reason;
  return typeof record.error === "string" ? record.error : JSON.stringify(record);
}

function settingsOf(catalog: ConnectionCatalog, name: string | undefined): Doc {
  return connectionSettings(name === undefined ? undefined : catalog.get(name));
}

/** A processor reading inline `documents` gets them as its first input when the case gives none. */
function withInlineDocuments(plan: ProcessorPlan, steps: readonly TestStep[]): readonly TestStep[] {
  if (plan.source.type !== "documents" || steps.some((s) => s.kind === "input")) return steps;
  const documents = (plan.source.options as { documents: readonly Doc[] | Evaluator }).documents;
  const docs = typeof documents === "function" ? documents({}, {}) : documents;
  if (!Array.isArray(docs)) return steps;
  return [{ kind: "input", docs: docs as Doc[], time: undefined, partition: 0 }, ...steps];
}

interface VirtualTime {
  setTime(time: number): void;
  advance(ms: number): void;
  now(): number;
  /** The steps are done and the input stays open: stop after this batch. */
  ended(): void;
}

/** One batch per step; the clock moves before the runtime sees the batch. */
class ScriptedSource implements Source {
  readonly type: string;
  readonly operatorName: string;
  private readonly steps: readonly TestStep[];
  private readonly flush: boolean;
  private readonly time: VirtualTime;
  private next_ = 0;
  private delivered = 0;

  constructor(plan: ProcessorPlan, steps: readonly TestStep[], flush: boolean, time: VirtualTime) {
    const kind = SOURCE_KINDS[plan.source.type] ?? [
      plan.source.type.toLowerCase(),
      `${plan.source.type}SourceOperator`,
    ];
    [this.type, this.operatorName] = kind;
    this.steps = steps;
    this.flush = flush;
    this.time = time;
  }

  async start(): Promise<void> {}

  async next(): Promise<SourceBatch | undefined> {
    const step = this.steps[this.next_++];
    if (step === undefined) {
      if (this.flush) return undefined;
      this.time.ended();
      return { records: [], idle: true };
    }
    switch (step.kind) {
      case "advance":
        this.time.advance(step.ms);
        return { records: [], idle: true };
      case "watermark":
        return { records: [], idle: true, watermark: step.time };
      case "input": {
        if (step.time !== undefined) this.time.setTime(step.time);
        const timestamp = step.time ?? this.time.now();
        const records = step.docs.map((doc) => {
          this.delivered++;
          return {
            doc: structuredClone(doc),
            partition: step.partition,
            timestamp,
            meta: undefined,
            size: 0,
          };
        });
        return { records };
      }
    }
  }

  positions(): Doc {
    return { delivered: this.delivered };
  }

  async close(): Promise<void> {}
}

/**
 * A connector spec: everything Eddy knows about one connection type, in `src/connectors/<type>/spec.ts`. The
 * planning half (`ConnectionTypeSpec`: names, settings schema, `$source`/`$emit` forms, the stages it serves,
 * its DLQ form) is what `src/pipeline` sees; the `open…`/`load…` factories add the runtime half and import the
 * connector's modules only when called, so a spec imports no client library and `sp lint`/`sp schema` load none.
 */
import type { Doc } from "../mql/index.ts";
import type { ConnectionTypeSpec, DlqForm, EmitForm, SourceForm } from "../pipeline/connector-specs.ts";
import type {
  ConnectorStagePlan,
  DlqTarget,
  EmitPlan,
  ProcessorPlan,
  SourcePlan,
  StageSinkPlan,
} from "../pipeline/plan.ts";
import type {
  CheckpointSlots,
  CheckpointStore,
  DlqWriter,
  RunContext,
  Sink,
  Source,
  StageRunner,
} from "../runtime/index.ts";
import type { StatsCollector } from "../runtime/stats.ts";
import type { ConnectorClients } from "./clients.ts";

/** What opening a `$source` may use. */
export interface OpenSourceContext {
  readonly plan: ProcessorPlan;
  /** The connection's settings (`config` merged over its top-level keys). */
  readonly settings: Doc;
  /** Undefined when the command may not connect to external servers. */
  readonly clients: ConnectorClients | undefined;
  readonly stdin: NodeJS.ReadableStream;
  /** A checkpoint's source positions to resume from (`{}` to start as configured). */
  readonly positions: Doc;
  /** Consumer group of a persistent processor whose Kafka `$source` sets no `group_id`. */
  readonly groupId?: string;
}

/** What opening an `$emit` sink may use. */
export interface OpenSinkContext {
  readonly plan: ProcessorPlan;
  readonly settings: Doc;
  readonly clients: ConnectorClients | undefined;
  readonly stdout: NodeJS.WritableStream;
}

/** What opening a connector-backed stage (`$lookup`, `$https`…) may use. */
export interface OpenStageContext {
  readonly settings: Doc;
  readonly clients: ConnectorClients;
  readonly run: RunContext;
  readonly stats: StatsCollector;
}

/** Builds a type's connector-backed stages once its modules are loaded (the runtime builds them synchronously). */
export type StageOpener = (stage: ConnectorStagePlan, ctx: OpenStageContext) => StageRunner;

/** What opening a dead letter queue may use. */
export interface OpenDlqContext {
  readonly plan: ProcessorPlan;
  readonly settings: Doc;
  readonly clients: ConnectorClients;
}

/** A spec as a type's folder declares it, with its options' types. */
export interface ConnectorDefinition<TSource = never, TEmit = never, TDlq = never> extends Omit<
  ConnectionTypeSpec,
  "source" | "emit" | "dlq"
> {
  readonly source?: SourceForm<TSource>;
  readonly emit?: EmitForm<TEmit>;
  readonly dlq?: DlqForm<TDlq>;
  openSource?(source: SourcePlan<TSource>, ctx: OpenSourceContext): Promise<Source>;
  openSink?(sink: EmitPlan<TEmit>, ctx: OpenSinkContext): Promise<Sink>;
  /** A sink that is one of the stages the type serves (`$merge`, a terminal `$https`). */
  openStageSink?(sink: StageSinkPlan, ctx: OpenSinkContext): Promise<Sink>;
  /** Loads what runs the connector-backed stages the type serves (`stages`). */
  loadStages?(): Promise<StageOpener>;
  openDlq?(target: DlqTarget<TDlq>, ctx: OpenDlqContext): Promise<DlqWriter>;
  /**
   * Where checkpoints go when this sink commits with them (exactly-once Kafka): undefined ⇒ slot 0 as usual.
   * `connection` is the sink connection's settings.
   */
  openCheckpoints?(
    sink: EmitPlan<TEmit>,
    plan: ProcessorPlan,
    settings: Doc,
    slots: CheckpointSlots,
  ): Promise<CheckpointStore | undefined>;
}

/** A spec as the registry holds it: options typed by the form that produced them, erased here. */
export type ConnectorSpec = ConnectionTypeSpec & {
  openSource?(source: SourcePlan, ctx: OpenSourceContext): Promise<Source>;
  openSink?(sink: EmitPlan, ctx: OpenSinkContext): Promise<Sink>;
  openStageSink?(sink: StageSinkPlan, ctx: OpenSinkContext): Promise<Sink>;
  loadStages?(): Promise<StageOpener>;
  openDlq?(target: DlqTarget, ctx: OpenDlqContext): Promise<DlqWriter>;
  openCheckpoints?(
    sink: EmitPlan,
    plan: ProcessorPlan,
    settings: Doc,
    slots: CheckpointSlots,
  ): Promise<CheckpointStore | undefined>;
};

/**
 * Declares a connector. The registry dispatches plans by `type`, and a plan of type T was produced by T's own
 * form, so its options have the form's type: that is the one place the option types are erased.
 */
export function defineConnector<TSource = never, TEmit = never, TDlq = never>(
  definition: ConnectorDefinition<TSource, TEmit, TDlq>,
): ConnectorSpec {
  return definition as unknown as ConnectorSpec;
}

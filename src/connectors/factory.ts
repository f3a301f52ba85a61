/**
 * Maps a plan's source, sink, connector-backed stages and DLQ to the connectors that run them, each through its
 * connection type's spec in the registry (whose modules are loaded then). Only the built-ins are named here:
 * inline `documents` and stdout.
 */
import { connectionSettings } from "./connection-settings.ts";
import { DocumentsSource } from "./documents/source.ts";
import { JsonLinesSink } from "./file/sink.ts";
import type { ConnectorClients } from "./clients.ts";
import { UnavailableConnectorError } from "./errors.ts";
import { CONNECTORS } from "./registry.ts";
import type { ConnectorSpec, StageOpener } from "./spec.ts";
import type { Doc } from "../mql/index.ts";
import type {
  ConnectionCatalog,
  ConnectorStagePlan,
  DocumentsSourceOptions,
  ProcessorPlan,
  SourcePlan,
  StagePlan,
  WindowStagePlan,
} from "../pipeline/plan.ts";
import type { CheckpointStore, DlqWriter, RunContext, Sink, Source, StageRunner } from "../runtime/index.ts";
import type { CheckpointSlots } from "../runtime/index.ts";
import type { StatsCollector } from "../runtime/stats.ts";

export { UnavailableConnectorError } from "./errors.ts";

/**
 * Opens the connector for the plan's `$source` (its connection type's `openSource`). `options.positions` are
 * a checkpoint's source positions to resume from (`Source.positions()` of the same kind of source); without
 * them the source starts as configured.
 */
export async function createSource(
  plan: ProcessorPlan,
  catalog: ConnectionCatalog,
  stdin: NodeJS.ReadableStream,
  clients?: ConnectorClients,
  options: {
    positions?: Doc;
    /** Consumer group of a persistent processor whose Kafka `$source` sets no `group_id`. */
    groupId?: string;
  } = {},
): Promise<Source> {
  const source = plan.source;
  const positions = options.positions ?? {};
  if (source.type === "documents") {
    const { documents } = (source as SourcePlan<DocumentsSourceOptions>).options;
    const position = positions.position;
    return new DocumentsSource(documents, { position: typeof position === "number" ? position : undefined });
  }
  const spec = specOf(source.type);
  if (!spec.openSource)
    throw new UnavailableConnectorError(`a ${source.type} $source is not available in this build yet`);
  return spec.openSource(source, {
    plan,
    settings: settingsOf(catalog, source.connectionName ?? ""),
    clients,
    stdin,
    positions,
    ...(options.groupId !== undefined ? { groupId: options.groupId } : {}),
  });
}

/**
 * The sink: stdout JSON Lines for an ephemeral processor without one (and every sink when `dryRun` asks to
 * print what would be written), else its connection type's `openSink` (`$emit`) or `openStageSink` (`$merge`,
 * a terminal `$https`).
 */
export async function createSink(
  plan: ProcessorPlan,
  catalog: ConnectionCatalog,
  stdout: NodeJS.WritableStream,
  clients?: ConnectorClients,
  options: { dryRun?: boolean } = {},
): Promise<Sink> {
  const sink = plan.sink;
  if (!sink) return new JsonLinesSink(stdout, { operatorName: "StdoutSinkOperator" });
  if (options.dryRun) return new JsonLinesSink(stdout, { operatorName: sink.operatorName });
  const spec = specOf(sink.type);
  const ctx = { plan, settings: settingsOf(catalog, sink.connectionName), clients, stdout };
  const opened = sink.kind === "emit" ? spec.openSink?.(sink, ctx) : spec.openStageSink?.(sink, ctx);
  if (!opened) {
    throw new UnavailableConnectorError(
      `the ${sink.kind === "connector" ? sink.stage : sink.kind} sink connector ('${sink.connectionName}') is not available in this build yet`,
    );
  }
  return opened;
}

/**
 * Where a processor's checkpoints go: slot 0 of `slots`, or what the sink's connection type asks for when
 * its sink commits with them (exactly-once Kafka `$emit`: both slots, chosen between by the sink's marker).
 */
export async function createCheckpoints(
  plan: ProcessorPlan,
  catalog: ConnectionCatalog,
  slots: CheckpointSlots,
): Promise<CheckpointStore> {
  const sink = plan.sink;
  const open = sink?.kind === "emit" ? specOf(sink.type).openCheckpoints : undefined;
  if (sink?.kind !== "emit" || !open) return slots(0);
  return (await open(sink, plan, settingsOf(catalog, sink.connectionName), slots)) ?? slots(0);
}

function specOf(type: string): ConnectorSpec {
  const spec = CONNECTORS.find(type);
  if (!spec) throw new UnavailableConnectorError(`connection type ${type} is not available in this build`);
  return spec;
}

function settingsOf(catalog: ConnectionCatalog, name: string): Doc {
  return connectionSettings(catalog.get(name));
}

/** The writer of `options.dlq` (its connection type's `openDlq`), or undefined when the processor has none. */
export async function createDlqWriter(
  plan: ProcessorPlan,
  catalog: ConnectionCatalog,
  clients: ConnectorClients,
): Promise<DlqWriter | undefined> {
  const dlq = plan.dlq;
  if (!dlq) return undefined;
  const type = catalog.get(dlq.connectionName)?.type ?? "";
  const open = specOf(type).openDlq;
  if (!open)
    throw new UnavailableConnectorError(`a ${type} dead letter queue is not available in this build`);
  return open(dlq, { plan, settings: settingsOf(catalog, dlq.connectionName), clients });
}

/**
 * The runtime's factory for connector-backed stages (`$lookup`, `$cachedLookup`, `$https`…): loads the stage
 * modules of the connection types the plan's stages use, then builds each stage through its type's opener.
 */
export async function connectorStages(
  plan: ProcessorPlan,
  catalog: ConnectionCatalog,
  clients: ConnectorClients,
): Promise<(stage: ConnectorStagePlan, ctx: RunContext, stats: StatsCollector) => StageRunner> {
  const openers = new Map<string, StageOpener>();
  for (const type of new Set(connectorStageTypes(plan.stages))) {
    const load = specOf(type).loadStages;
    if (load) openers.set(type, await load());
  }
  return (stage, run, stats) => {
    const open = stage.type === undefined ? undefined : openers.get(stage.type);
    if (!open || stage.connectionName === undefined) {
      throw new UnavailableConnectorError(
        `${stage.path}: the ${stage.kind} stage is not available in this build yet`,
      );
    }
    return open(stage, { settings: settingsOf(catalog, stage.connectionName), clients, run, stats });
  };
}

/** The connection types of the connector-backed stages, window pipelines included. */
function connectorStageTypes(stages: ReadonlyArray<StagePlan | WindowStagePlan>): string[] {
  return stages.flatMap((stage) => {
    switch (stage.kind) {
      case "window":
        return connectorStageTypes(stage.window.pipeline);
      case "lookup":
      case "cachedLookup":
      case "https":
      case "externalFunction":
        return stage.type === undefined ? [] : [stage.type];
      default:
        return [];
    }
  });
}

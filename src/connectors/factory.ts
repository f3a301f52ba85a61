/**
 * Maps a plan's source, sink, connector-backed stages and DLQ to the connectors that run them: `$source` and
 * `$emit` through the connection type's spec in the registry (its module is loaded then), `$merge`,
 * `$lookup`, `$https` and the DLQ directly.
 */
import { DocumentsSource } from "./documents/source.ts";
import { JsonLinesSink } from "./file/sink.ts";
import { MergeSink } from "./mongodb/merge-sink.ts";
import { MongoDlqWriter } from "./mongodb/dlq-writer.ts";
import { KafkaDlqWriter } from "./kafka/dlq-writer.ts";
import { HttpsSink } from "./https/https-sink.ts";
import { createLookupStage } from "./mongodb/lookup-stage.ts";
import { mongoForeign } from "./mongodb/lookup.ts";
import { createHttpsStage, type HttpsConnection } from "./https/https-stage.ts";
import type { ConnectorClients } from "./clients.ts";
import { UnavailableConnectorError } from "./errors.ts";
import { required } from "./open-helpers.ts";
import { CONNECTORS } from "./registry.ts";
import type { ConnectorSpec } from "./spec.ts";
import type { Doc } from "../mql/index.ts";
import type {
  ConnectionCatalog,
  ConnectorStagePlan,
  DocumentsSourceOptions,
  ProcessorPlan,
  SourcePlan,
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
 * print what would be written), `$merge` to MongoDB, `$emit` through its connection type's `openSink`.
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
  if (sink.kind === "merge") return new MergeSink(required(clients).mongoClient(sink.connectionName), sink);
  if (sink.kind === "connector" && sink.stage === "$https")
    return new HttpsSink(sink, httpsConnection(catalog, sink.connectionName));
  const openSink = sink.kind === "emit" ? specOf(sink.type).openSink : undefined;
  if (sink.kind !== "emit" || !openSink) {
    throw new UnavailableConnectorError(
      `the ${sink.kind} sink connector ('${sink.connectionName}') is not available in this build yet`,
    );
  }
  return openSink(sink, { plan, settings: settingsOf(catalog, sink.connectionName), clients, stdout });
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

/** The entry's `config` merged over its top-level settings (ASP API bodies keep them at the top). */
function settingsOf(catalog: ConnectionCatalog, name: string): Doc {
  const entry = catalog.get(name);
  return { ...entry, ...(entry?.config ?? {}) } as Doc;
}

/** `options.dlq` as a MongoDB collection or a Kafka topic, or undefined when the processor has none. */
export function createDlqWriter(plan: ProcessorPlan, clients: ConnectorClients): DlqWriter | undefined {
  const dlq = plan.dlq;
  if (!dlq) return undefined;
  if (dlq.topic !== undefined)
    return new KafkaDlqWriter(clients.kafka(dlq.connectionName, `eddy-${plan.name}-dlq`), dlq.topic);
  return new MongoDlqWriter(clients.mongoClient(dlq.connectionName), dlq);
}

/** The runtime's factory for connector-backed stages (`$lookup`, `$cachedLookup`, `$https`). */
export function connectorStages(
  clients: ConnectorClients,
  catalog: ConnectionCatalog,
): (stage: ConnectorStagePlan, ctx: RunContext, stats: StatsCollector) => StageRunner {
  return (stage, ctx, stats) => {
    if ((stage.kind === "lookup" || stage.kind === "cachedLookup") && stage.connectionName !== undefined) {
      return createLookupStage(stage, mongoForeign(clients.mongoClient(stage.connectionName)), ctx, stats);
    }
    if (stage.kind === "https" && stage.connectionName !== undefined) {
      return createHttpsStage(stage, httpsConnection(catalog, stage.connectionName), ctx, stats);
    }
    throw new UnavailableConnectorError(
      `${stage.path}: the ${stage.kind} stage is not available in this build yet`,
    );
  };
}

/**
 * An Https connection: `url` (base URL; `baseUrl`, the seed `sp` tool's name for it, is read the same way)
 * and static `headers` (values may come from `{{VAR}}`).
 */
export function httpsConnection(catalog: ConnectionCatalog, name: string): HttpsConnection {
  const settings = settingsOf(catalog, name);
  const url = settings.url ?? settings.baseUrl;
  if (typeof url !== "string" || url === "") {
    throw new UnavailableConnectorError(
      `connection '${name}' needs config.url, the base URL of the HTTP API`,
    );
  }
  return {
    url,
    headers: (settings.headers as Record<string, string> | undefined) ?? {},
    ...(typeof settings.maxRetries === "number" ? { maxRetries: settings.maxRetries } : {}),
    ...(typeof settings.retryDelayMs === "number" ? { retryDelayMs: settings.retryDelayMs } : {}),
  };
}

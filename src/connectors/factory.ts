/** Maps a plan's source, sink, connector-backed stages and DLQ to the connectors that run them. */
import { ConnectorError } from "../runtime/errors.ts";
import { DocumentsSource } from "./documents/source.ts";
import { FileSource } from "./file/source.ts";
import { JsonLinesSink } from "./file/sink.ts";
import { SampleSource } from "./sample/source.ts";
import { ChangeStreamSource } from "./mongodb/change-stream-source.ts";
import { MergeSink } from "./mongodb/merge-sink.ts";
import { TimeseriesEmitSink } from "./mongodb/timeseries-sink.ts";
import { MongoDlqWriter } from "./mongodb/dlq-writer.ts";
import { exactlyOnceSettings, KafkaEmitSink } from "./kafka/emit-sink.ts";
import { KafkaSource } from "./kafka/source.ts";
import { fenceAndReadMarker } from "./kafka/transactions.ts";
import { createLookupStage } from "./mongodb/lookup-stage.ts";
import { createHttpsStage, type HttpsConnection } from "./https/https-stage.ts";
import { ConnectorClients } from "./clients.ts";
import { readOtlpConfig } from "./otlp/config.ts";
import { OtlpSource } from "./otlp/source.ts";
import { randomUUID } from "node:crypto";
import type { ResumeToken } from "mongodb";
import type { Doc } from "../mql/index.ts";
import type { ConnectionCatalog, ConnectorStagePlan, ProcessorPlan } from "../pipeline/plan.ts";
import type { CheckpointStore, DlqWriter, RunContext, Sink, Source, StageRunner } from "../runtime/index.ts";
import { TwoPhaseCheckpoints, type CheckpointSlots } from "../runtime/index.ts";
import type { StatsCollector } from "../runtime/stats.ts";

/** Thrown when a plan needs a connector this build cannot run yet (the processor does not start). */
/** A configuration problem: retrying cannot help, so the processor fails at once. */
export class UnavailableConnectorError extends ConnectorError {
  override readonly name = "UnavailableConnectorError";

  constructor(message: string) {
    super(message, { retryable: false });
  }
}

/**
 * Picks the connector for the plan's `$source`. Sample connections take Eddy's optional `config`
 * `{rate (per second, or "unlimited"), count, seed}`; File connections `{path}` ("-" = stdin); Cluster
 * connections `{uri}`; Kafka connections `{bootstrapServers, authentication?, security?}`.
 * `options.positions` are a checkpoint's source positions to resume from (`Source.positions()` of the
 * same kind of source); without them the source starts as configured.
 */
export function createSource(
  plan: ProcessorPlan,
  catalog: ConnectionCatalog,
  stdin: NodeJS.ReadableStream,
  clients?: ConnectorClients,
  options: {
    positions?: Doc;
    /** Consumer group of a persistent processor whose Kafka `$source` sets no `group_id`. */
    groupId?: string;
  } = {},
): Source {
  const source = plan.source;
  const positions = options.positions ?? {};
  switch (source.kind) {
    case "documents":
      return new DocumentsSource(source.documents, { position: numberOption(positions, "position") });
    case "sample": {
      const config = catalog.get(source.connectionName)?.config ?? {};
      return new SampleSource(source.dataset, {
        rate: config.rate === "unlimited" ? Infinity : numberOption(config, "rate"),
        count: numberOption(config, "count"),
        seed: numberOption(config, "seed"),
      });
    }
    case "file": {
      const path = catalog.get(source.connectionName)?.config?.path;
      if (typeof path !== "string") {
        throw new UnavailableConnectorError(
          `connection '${source.connectionName}' needs config.path (a file name, or "-" for stdin)`,
        );
      }
      return new FileSource(path === "-" ? stdin : path, { line: numberOption(positions, "line") });
    }
    case "changeStream":
      return new ChangeStreamSource(required(clients).mongoClient(source.connectionName), source, {
        resumeAfterToken: positions.resumeToken as ResumeToken | undefined,
      });
    case "kafka":
      return new KafkaSource(required(clients).kafka(source.connectionName, `eddy-${plan.name}`), source, {
        ...(options.groupId !== undefined ? { groupId: options.groupId } : {}),
        // An ephemeral processor without group_id reads alone, from auto_offset_reset.
        fallbackGroupId: `eddy-process-${plan.name}-${randomUUID()}`,
        tuning: required(clients).kafkaConsumerTuning(source.connectionName),
        startOffsets: positions.offsets as Record<string, string> | undefined,
      });
    case "otlp": {
      const { config, problems } = readOtlpConfig(
        source.connectionName,
        catalog.get(source.connectionName)?.config,
      );
      if (problems.length > 0) {
        throw new UnavailableConnectorError(
          `connection '${source.connectionName}': ${problems.map((p) => `config.${p.path}: ${p.message}`).join("; ")}`,
        );
      }
      return new OtlpSource(source.connectionName, config, source.signal, {
        readerId: plan.name,
        offset: numberOption(positions, "offset"),
      });
    }
  }
}

/**
 * The sink: stdout JSON Lines for an ephemeral processor without one (and ASP's `__testLog`, and every
 * sink when `dryRun` asks to print what would be written), `$merge` to MongoDB, `$emit` to Kafka or to a
 * MongoDB time-series collection.
 */
export function createSink(
  plan: ProcessorPlan,
  catalog: ConnectionCatalog,
  stdout: NodeJS.WritableStream,
  clients?: ConnectorClients,
  options: { dryRun?: boolean } = {},
): Sink {
  const sink = plan.sink;
  if (!sink) return new JsonLinesSink(stdout, { operatorName: "StdoutSinkOperator" });
  if (options.dryRun) return new JsonLinesSink(stdout, { operatorName: sink.operatorName });
  if (catalog.get(sink.connectionName)?.type === "TestLog")
    return new JsonLinesSink(stdout, { operatorName: "TestLogSinkOperator" });
  if (sink.kind === "merge") return new MergeSink(required(clients).mongoClient(sink.connectionName), sink);
  if (sink.kind === "emit" && sink.operatorName === "KafkaEmitOperator") {
    return new KafkaEmitSink(required(clients).kafka(sink.connectionName, `eddy-${plan.name}`), sink, {
      exactlyOnce: exactlyOnceSettings(plan.name, sink),
    });
  }
  if (sink.kind === "emit" && sink.operatorName === "TimeseriesEmitOperator") {
    return new TimeseriesEmitSink(required(clients).mongoClient(sink.connectionName), sink);
  }
  throw new UnavailableConnectorError(
    `the ${sink.kind} sink connector ('${sink.connectionName}') is not available in this build yet`,
  );
}

/**
 * Where a processor's checkpoints go: slot 0 of `slots`, or, when its sink commits transactionally
 * (exactly-once Kafka `$emit`), both slots, chosen between at load by the sink's last committed marker.
 */
export function createCheckpoints(
  plan: ProcessorPlan,
  catalog: ConnectionCatalog,
  slots: CheckpointSlots,
): CheckpointStore {
  const sink = plan.sink;
  const exactlyOnce = sink && exactlyOnceSettings(plan.name, sink);
  if (!sink || !exactlyOnce) return slots(0);
  const client = new ConnectorClients(catalog).kafka(sink.connectionName, `eddy-${plan.name}`);
  return new TwoPhaseCheckpoints([slots(0), slots(1)], () => fenceAndReadMarker(client, exactlyOnce));
}

/** `options.dlq` as a MongoDB collection, or undefined when the processor has none. */
export function createDlqWriter(plan: ProcessorPlan, clients: ConnectorClients): DlqWriter | undefined {
  if (!plan.dlq) return undefined;
  return new MongoDlqWriter(clients.mongoClient(plan.dlq.connectionName), plan.dlq);
}

/** The runtime's factory for connector-backed stages (`$lookup`, `$cachedLookup`, `$https`). */
export function connectorStages(
  clients: ConnectorClients,
  catalog: ConnectionCatalog,
): (stage: ConnectorStagePlan, ctx: RunContext, stats: StatsCollector) => StageRunner {
  return (stage, ctx, stats) => {
    if ((stage.kind === "lookup" || stage.kind === "cachedLookup") && stage.connectionName !== undefined) {
      return createLookupStage(stage, clients.mongoClient(stage.connectionName), ctx, stats);
    }
    if (stage.kind === "https" && stage.connectionName !== undefined) {
      return createHttpsStage(stage, httpsConnection(catalog, stage.connectionName), ctx, stats);
    }
    throw new UnavailableConnectorError(
      `${stage.path}: the ${stage.kind} stage is not available in this build yet`,
    );
  };
}

/** An Https connection: `url` (base URL) and static `headers` (values may come from `{{VAR}}`). */
function httpsConnection(catalog: ConnectionCatalog, name: string): HttpsConnection {
  const entry = catalog.get(name);
  const settings = { ...entry, ...(entry?.config ?? {}) } as Doc;
  if (typeof settings.url !== "string" || settings.url === "") {
    throw new UnavailableConnectorError(
      `connection '${name}' needs config.url, the base URL of the HTTP API`,
    );
  }
  return { url: settings.url, headers: (settings.headers as Record<string, string> | undefined) ?? {} };
}

function required(clients: ConnectorClients | undefined): ConnectorClients {
  if (!clients)
    throw new UnavailableConnectorError("this command cannot open connections to external servers");
  return clients;
}

function numberOption(config: Doc, key: string): number | undefined {
  const value = config[key];
  return typeof value === "number" ? value : undefined;
}

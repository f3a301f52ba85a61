import { DocumentsSource } from "../connectors/documents/source.ts";
import { FileSource } from "../connectors/file/source.ts";
import { JsonLinesSink } from "../connectors/file/sink.ts";
import { SampleSource } from "../connectors/sample/source.ts";
import type { Doc } from "../mql/index.ts";
import type { ConnectionCatalog, ProcessorPlan } from "../pipeline/plan.ts";
import type { Sink, Source } from "../runtime/index.ts";

/** Thrown when a plan needs a connector this build cannot run yet (the processor does not start). */
export class UnavailableConnectorError extends Error {
  override readonly name = "UnavailableConnectorError";
}

/**
 * Picks the connector for the plan's `$source`. Sample connections take Eddy's optional `config`
 * `{rate (per second, or "unlimited"), count, seed}`; File connections `{path}` ("-" = stdin).
 */
export function createSource(
  plan: ProcessorPlan,
  catalog: ConnectionCatalog,
  stdin: NodeJS.ReadableStream,
): Source {
  const source = plan.source;
  switch (source.kind) {
    case "documents":
      return new DocumentsSource(source.documents);
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
      return new FileSource(path === "-" ? stdin : path);
    }
    default:
      throw new UnavailableConnectorError(
        `the ${source.kind} source connector is not available in this build yet`,
      );
  }
}

/** The sink: stdout JSON Lines for an ephemeral processor without one (and ASP's `__testLog`). */
export function createSink(
  plan: ProcessorPlan,
  catalog: ConnectionCatalog,
  stdout: NodeJS.WritableStream,
): Sink {
  const sink = plan.sink;
  if (!sink) return new JsonLinesSink(stdout, { operatorName: "StdoutSinkOperator" });
  if (catalog.get(sink.connectionName)?.type === "TestLog")
    return new JsonLinesSink(stdout, { operatorName: "TestLogSinkOperator" });
  throw new UnavailableConnectorError(
    `the ${sink.kind} sink connector ('${sink.connectionName}') is not available in this build yet`,
  );
}

function numberOption(config: Doc, key: string): number | undefined {
  const value = config[key];
  return typeof value === "number" ? value : undefined;
}

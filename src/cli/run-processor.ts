import type { Doc } from "../mql/index.ts";
import type { ConnectionCatalog, ProcessorPlan } from "../pipeline/plan.ts";
import { ProcessorRuntime, type DlqWriter, type ProcessorStats, type Sink } from "../runtime/index.ts";
import type { CliIo } from "./io.ts";
import { ConnectorClients } from "../connectors/clients.ts";
import { connectorStages, createDlqWriter, createSink, createSource } from "../connectors/factory.ts";

/**
 * Runs a plan until its source drains or Ctrl-C (SIGINT/SIGTERM) asks it to stop; returns the final stats.
 * `onStart` receives the runtime (the demo polls its stats).
 */
export async function runProcessor(
  plan: ProcessorPlan,
  catalog: ConnectionCatalog,
  io: CliIo,
  options: {
    /** Where dead letters go; default: the plan's `options.dlq` collection. */
    dlq?: DlqWriter;
    sink?: Sink;
    /** Print what the sink would write instead of writing it. */
    dryRun?: boolean;
    onOutput?: (docs: readonly Doc[]) => void;
    onStart?: (runtime: ProcessorRuntime) => void;
  },
): Promise<ProcessorStats> {
  const clients = new ConnectorClients(catalog);
  const source = createSource(plan, catalog, io.stdin, clients);
  const sink = options.sink ?? createSink(plan, catalog, io.stdout, clients, { dryRun: options.dryRun });
  const dlq = options.dlq ?? createDlqWriter(plan, clients);
  const runtime = new ProcessorRuntime(plan, {
    source,
    sink,
    dlq,
    onOutput: options.onOutput,
    connectorStage: connectorStages(clients, catalog),
  });
  const stop = (): void => runtime.stop();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    options.onStart?.(runtime);
    return await runtime.run();
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await sink.close();
    await dlq?.close();
    await clients.close();
  }
}

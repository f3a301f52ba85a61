/**
 * Builds the connectors of one run of a server-managed processor: source (from the checkpoint's positions
 * when there is one), sink, DLQ and connector-backed stages, sharing one set of clients that `close()` ends.
 */
import { Readable, Writable } from "node:stream";
import type { Doc } from "../mql/index.ts";
import type { ConnectionCatalog, ProcessorPlan } from "../pipeline/plan.ts";
import type { Logger } from "../runtime/log.ts";
import type { ProcessorParts } from "../runtime/supervisor.ts";
import { ConnectorClients } from "../connectors/clients.ts";
import { connectorStages, createDlqWriter, createSink, createSource } from "../connectors/factory.ts";

export async function openProcessorParts(
  plan: ProcessorPlan,
  catalog: ConnectionCatalog,
  positions: Doc | undefined,
  logger: Logger,
): Promise<ProcessorParts> {
  const clients = new ConnectorClients(catalog);
  try {
    // A server has no stdin to read and prints no output: `__testLog` output goes to the log.
    const source = await createSource(plan, catalog, Readable.from([]), clients, {
      positions,
      // ASP's default group of a persistent processor (`asp-<processorId>-consumer`), here by name.
      groupId: `asp-${plan.name}-consumer`,
    });
    const sink = await createSink(plan, catalog, testLogStream(plan.name, logger), clients);
    const dlq = await createDlqWriter(plan, catalog, clients);
    return {
      source,
      sink,
      dlq,
      connectorStage: await connectorStages(plan, catalog, clients),
      close: () => clients.close(),
    };
  } catch (error) {
    await clients.close();
    throw error;
  }
}

function testLogStream(processor: string, logger: Logger): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      for (const line of String(chunk).split("\n"))
        if (line) logger.info("__testLog output", { processor, doc: line });
      callback();
    },
  });
}

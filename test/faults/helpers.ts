// Shared pieces of the fault-injection tests: a processor run under the supervisor with real connectors,
// a producer that keeps trying through a broker restart, and a reader that collects a topic's ids.
import { Consumer, Producer } from "@platformatic/kafka";
import { ConnectorClients } from "../../src/connectors/clients.ts";
import { connectorStages, createDlqWriter, createSink, createSource } from "../../src/connectors/factory.ts";
import type { Doc } from "../../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor } from "../../src/pipeline/index.ts";
import type { ConnectionEntry } from "../../src/pipeline/plan.ts";
import { ProcessorSupervisor, type SupervisorStatus } from "../../src/runtime/supervisor.ts";
import { CONNECTORS } from "../../src/connectors/registry.ts";

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A processor under the supervisor, connectors built by the factory as `sp` builds them. */
export async function superviseProcessor(
  definition: { name: string; pipeline: Doc[]; options?: Doc },
  connections: ConnectionEntry[],
): Promise<{ supervisor: ProcessorSupervisor; statuses: SupervisorStatus[] }> {
  const catalog = new MapConnectionCatalog(connections);
  const plan = planProcessor(definition, { connectors: CONNECTORS, connections: catalog });
  const statuses: SupervisorStatus[] = [];
  const supervisor = new ProcessorSupervisor({
    plan,
    checkpointIntervalMs: 300,
    retry: { initialDelayMs: 200, maxDelayMs: 2_000, giveUpAfterMs: 120_000 },
    onStatus: (status) => statuses.push(status),
    async open(positions) {
      const clients = new ConnectorClients(catalog);
      return {
        source: await createSource(plan, catalog, process.stdin, clients, { positions }),
        sink: await createSink(plan, catalog, process.stdout, clients),
        dlq: await createDlqWriter(plan, catalog, clients),
        connectorStage: await connectorStages(plan, catalog, clients),
        close: () => clients.close(),
      };
    },
  });
  await supervisor.start();
  return { supervisor, statuses };
}

/** Sends JSON documents, retrying each batch until the broker takes it (through a restart). */
export async function produceReliably(
  producer: Producer<Buffer, Buffer, Buffer, Buffer>,
  topic: string,
  docs: Doc[],
) {
  const messages = docs.map((doc) => ({ topic, value: Buffer.from(JSON.stringify(doc)) }));
  for (let attempt = 0; ; attempt++) {
    try {
      await producer.send({ messages });
      return;
    } catch (error) {
      if (attempt > 200) throw error;
      await sleep(250);
    }
  }
}

export function newProducer(brokers: string[]): Producer<Buffer, Buffer, Buffer, Buffer> {
  return new Producer({
    clientId: "fault-test-producer",
    bootstrapBrokers: brokers,
    retries: 2,
    retryDelay: 250,
  });
}

/**
 * Reads `topic` from the beginning until every id in `expected` was seen or `timeoutMs` passed; returns how
 * often each id arrived and the documents.
 */
export async function collectIds(
  brokers: string[],
  topic: string,
  expected: ReadonlySet<number>,
  timeoutMs: number,
): Promise<{ counts: Map<number, number>; docs: Doc[] }> {
  const consumer = new Consumer({
    clientId: "fault-test-reader",
    groupId: `fault-reader-${Date.now()}-${Math.random()}`,
    bootstrapBrokers: brokers,
  });
  const counts = new Map<number, number>();
  const docs: Doc[] = [];
  const stream = await consumer.consume({
    topics: [topic],
    mode: "earliest",
    autocommit: false,
    maxWaitTime: 200,
  });
  // A 'readable' listener puts the stream in paused mode, where it keeps fetching for read().
  stream.on("readable", () => undefined);
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline && [...expected].some((id) => !counts.has(id))) {
      const message = stream.read() as { value: Buffer } | null;
      if (message === null) {
        await sleep(50);
        continue;
      }
      const doc = JSON.parse(message.value.toString()) as Doc;
      docs.push(doc);
      counts.set(doc.id as number, (counts.get(doc.id as number) ?? 0) + 1);
    }
  } finally {
    await stream.close().catch(() => undefined);
    await consumer.close(true).catch(() => undefined);
  }
  return { counts, docs };
}

/** Ids in `expected` never seen, and how many arrivals were repeats. */
export function lossAndDuplicates(expected: ReadonlySet<number>, counts: ReadonlyMap<number, number>) {
  const missing = [...expected].filter((id) => !counts.has(id));
  let duplicates = 0;
  for (const n of counts.values()) duplicates += n - 1;
  return { missing, duplicates };
}

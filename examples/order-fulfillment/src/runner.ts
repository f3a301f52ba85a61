// One run of the demo: servers, set-up, Eddy with the ten processors, the order service, the generator;
// then the wait for every order's terminal event, the summary, and the clean-up of everything it started.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { MongoClient } from "mongodb";
import { planCartEvents } from "./cart-events.ts";
import { percentile, watchCompletion, type IncompleteOrder, type OverwrittenHistory } from "./completion.ts";
import { kafkaCartWriter, mongoCartWriter, sendCartEvents } from "./generator.ts";
import type { DemoOptions } from "./options.ts";
import { SERVICE_DB, startOrderService, type OrderService } from "./order-service.ts";
import { kafkaServer, mongoServer, prepareCartTopic, type KafkaAccess } from "./services.ts";
import { DLQ, setUpDatabases, type SetupReport } from "./setup.ts";
import { startEddy, type EddyServer } from "./sp.ts";

export const WORKSPACE_DIR = resolve(import.meta.dirname, "..");
export const KAFKA_PROCESSOR = "shoppingCartEventsFromKafkaStreamProcessor";
/** The nine change-stream processors, most downstream first (the demo's start script starts these). */
export const CHANGE_STREAM_PROCESSORS = [
  "shippedOrderToOrderTrackingStreamProcessor",
  "delayedShipmentToOrderTrackingStreamProcessor",
  "invalidOrderToOrderTrackingStreamProcessor",
  "fulfilledOrderToOrderTrackingStreamProcessor",
  "orderToShipmentStreamProcessor",
  "orderValidationStreamProcessor",
  "shoppingCartToOrderTrackingStreamProcessor",
  "shoppingCartToOrderStreamProcessor",
  "shoppingCartEventsCappedCollectionToShoppingCartStreamProcessor",
] as const;

export interface ProcessorCounts {
  name: string;
  state: string;
  in: number;
  out: number;
  dlq: number;
  /** Times the server restarted it after a failure (e.g. the order service being down). */
  restarts: number;
}

export interface DemoSummary {
  ok: boolean;
  destination: DemoOptions["destination"];
  seed: number;
  orders: number;
  completed: number;
  /** Orders without a whole history at the end, and the status events they have. */
  incomplete: IncompleteOrder[];
  /** Histories a replace emptied of status events during the run (the demo's own race, see completion.ts). */
  overwritten: OverwrittenHistory[];
  eventsGenerated: number;
  outcomes: { fulfilled: number; invalid: number; shipped: number; delayed: number };
  serviceCalls: { processOrder: number; shipOrder: number; repeated: number };
  processors: ProcessorCounts[];
  dlqRecords: number;
  latencyMs: { p50: number | undefined; p99: number | undefined };
  outage: { seconds: number; startedAfterEvent: number } | undefined;
  setup: SetupReport;
  seconds: number;
  mongodbUri: string | undefined;
  orderServiceUrl: string | undefined;
}

export interface RunHooks {
  /** Progress lines (stderr in the CLI). */
  readonly log: (line: string) => void;
  /** With --keep: called with the summary, resolves when the user wants everything stopped. */
  readonly keepUntil?: (summary: DemoSummary) => Promise<void>;
}

export async function runDemo(options: DemoOptions, hooks: RunHooks): Promise<DemoSummary> {
  const began = Date.now();
  const cleanups: Array<() => Promise<unknown>> = [];
  const plan = planCartEvents(options.seed, options.orders);
  try {
    hooks.log(
      `starting: ${options.orders} orders from ${plan.events.length} cart events, destination ${options.destination}`,
    );
    const mongo = await mongoServer(process.env);
    cleanups.push(mongo.stop);
    hooks.log(mongo.startedHere ? `MongoDB stand-in at ${mongo.value}` : "MongoDB from MONGODB_URI");
    const kafka = options.destination === "kafka" ? await kafkaServer(process.env) : undefined;
    if (kafka) {
      cleanups.push(kafka.stop);
      hooks.log(
        kafka.startedHere
          ? `Kafka broker (SASL_PLAINTEXT) at ${kafka.value.brokers.join(",")}`
          : "Kafka from KAFKA_BROKERS",
      );
    }
    const client = new MongoClient(mongo.value);
    cleanups.push(() => client.close());
    const setup = await setUpDatabases(client, { fresh: mongo.startedHere });
    for (const note of setup.notes) hooks.log(`set-up: ${note}`);

    const service = await startOrderService(client, options.seed);
    cleanups.push(() => service.close());
    const dataDir = await mkdtemp(join(tmpdir(), "eddy-order-demo-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const eddy = await startEddy(dataDir, eddyEnvironment(mongo.value, service.url, kafka?.value));
    cleanups.push(() => eddy.stop());
    hooks.log(`sp serve at ${eddy.url}; order service at ${service.url}`);

    const processors = [...CHANGE_STREAM_PROCESSORS, ...(kafka ? [KAFKA_PROCESSOR] : [])];
    await deploy(eddy, processors, kafka?.value);
    hooks.log(`deployed the workspace folder and started ${processors.length} processors`);

    const completion = await watchCompletion(
      client,
      plan.orders.map((order) => order.order_id),
    );
    cleanups.push(() => completion.close());
    const writer = kafka ? kafkaCartWriter(kafka.value) : undefined;
    if (writer) cleanups.push(() => writer.close());
    const write = writer?.write ?? mongoCartWriter(client, options.seed);
    const outageAt = options.outageSeconds > 0 ? Math.floor(plan.events.length / 3) : -1;
    let outage: Promise<void> = Promise.resolve();
    // The timeout counts from the first cart event: starting the servers is not the demo's processing time.
    const deadline = Date.now() + options.timeoutSeconds * 1000;
    await sendCartEvents(plan.events, write, {
      seed: options.seed,
      rate: options.rate,
      onSent: (index, cart, sentAt) => {
        if (cart.status === "create_order") completion.orderSent(cart.order_id!, sentAt);
        if (index === outageAt) outage = serviceOutage(service, options.outageSeconds, hooks.log);
      },
    });
    hooks.log(`sent ${plan.events.length} cart events; waiting for every order's terminal event`);
    const allDone = await completion.waitForAll(deadline);
    await outage;
    if (!allDone) reportServerTrouble(eddy.logs, hooks.log);

    const summary: DemoSummary = {
      ok: false,
      destination: options.destination,
      seed: options.seed,
      orders: options.orders,
      completed: completion.completedCount(),
      incomplete: await completion.incomplete(),
      overwritten: completion.overwritten(),
      eventsGenerated: plan.events.length,
      ...(await outcomes(client)),
      processors: await processorCounts(eddy),
      dlqRecords: await client.db(DLQ.db).collection(DLQ.coll).countDocuments(),
      latencyMs: { p50: percentile(completion.latencies(), 50), p99: percentile(completion.latencies(), 99) },
      outage: outageAt >= 0 ? { seconds: options.outageSeconds, startedAfterEvent: outageAt + 1 } : undefined,
      setup,
      seconds: Math.round((Date.now() - began) / 100) / 10,
      mongodbUri: mongo.startedHere ? undefined : "MONGODB_URI",
      orderServiceUrl: options.keep ? service.url : undefined,
    };
    summary.ok = allDone && summary.dlqRecords === 0 && summary.processors.every((p) => p.dlq === 0);
    if (options.keep && hooks.keepUntil) {
      summary.mongodbUri = mongo.value;
      await hooks.keepUntil(summary);
    }
    return summary;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

/** What `sp serve` logged above info level (the last 40 lines): why orders did not complete, as a rule. */
function reportServerTrouble(logs: readonly string[], log: (line: string) => void): void {
  const trouble = logs.filter((line) => /"level":"(warn|error|fatal)"/.test(line)).slice(-40);
  log(
    `not every order completed; sp serve logged ${trouble.length} warnings and errors${trouble.length ? ":" : ""}`,
  );
  for (const line of trouble) log(`sp serve: ${line}`);
}

/** The server's environment: where its `{{VAR}}`s come from (connections/connections.json). */
function eddyEnvironment(
  mongodbUri: string,
  serviceUrl: string,
  kafka: KafkaAccess | undefined,
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    MONGODB_URI: mongodbUri,
    ORDER_SERVICE_URL: serviceUrl,
    ...(kafka
      ? {
          KAFKA_BOOTSTRAP_SERVERS: kafka.brokers.join(","),
          KAFKA_USERNAME: kafka.username,
          KAFKA_PASSWORD: kafka.password,
        }
      : {}),
  };
}

async function deploy(
  eddy: EddyServer,
  processors: readonly string[],
  kafka: KafkaAccess | undefined,
): Promise<void> {
  await eddy.spOk(["workspaces", "connections", "create", "--dir", WORKSPACE_DIR]);
  await eddy.spOk(["processors", "create", "--dir", WORKSPACE_DIR]);
  if (kafka) await prepareCartTopic(kafka, `asp-${KAFKA_PROCESSOR}-consumer`);
  for (const name of processors) await eddy.spOk(["processors", "start", "--processor", name]);
}

async function serviceOutage(
  service: OrderService,
  seconds: number,
  log: (line: string) => void,
): Promise<void> {
  log(`fault drill: order service stopped for ${seconds} s`);
  await service.pause();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  await service.resume();
  log("fault drill: order service back");
}

async function outcomes(client: MongoClient): Promise<Pick<DemoSummary, "outcomes" | "serviceCalls">> {
  const count = (db: string, coll: string) => client.db(db).collection(coll).countDocuments();
  const service = client.db(SERVICE_DB);
  const calls = async (coll: string) => {
    const docs = await service
      .collection<{ calls: number }>(coll)
      .find({}, { projection: { calls: 1 } })
      .toArray();
    return {
      total: docs.reduce((sum, doc) => sum + doc.calls, 0),
      repeated: docs.reduce((sum, doc) => sum + doc.calls - 1, 0),
    };
  };
  const processed = await calls("processed_orders");
  const shipped = await calls("shipments");
  return {
    outcomes: {
      fulfilled: await count("orderdb", "fulfilled_orders"),
      invalid: await count("orderdb", "invalid_orders"),
      shipped: await count("shipmentdb", "shipped_orders"),
      delayed: await count("shipmentdb", "delayed_orders"),
    },
    serviceCalls: {
      processOrder: processed.total,
      shipOrder: shipped.total,
      repeated: processed.repeated + shipped.repeated,
    },
  };
}

async function processorCounts(eddy: EddyServer): Promise<ProcessorCounts[]> {
  const stats = JSON.parse(await eddy.spOk(["processors", "stats", "--json"])) as {
    results: Array<{ name: string; state: string; stats?: Record<string, unknown> }>;
  };
  const list = JSON.parse(await eddy.spOk(["processors", "list", "--json"])) as {
    results: Array<{ name: string; status?: { restarts?: number } }>;
  };
  const restarts = new Map(list.results.map((p) => [p.name, p.status?.restarts ?? 0]));
  const number = (value: unknown) => (typeof value === "number" ? value : 0);
  return stats.results.map(({ name, state, stats }) => ({
    name,
    state,
    in: number(stats?.inputMessageCount),
    out: number(stats?.outputMessageCount),
    dlq: number(stats?.dlqMessageCount),
    restarts: restarts.get(name) ?? 0,
  }));
}

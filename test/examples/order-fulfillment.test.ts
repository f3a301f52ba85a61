// The order-fulfillment demo end to end, as a user runs it (`npm run demo:orders`), for both cart-event
// destinations, with the fault drill: the order service is stopped for 5 s a third of the way in. Every
// order must complete, and each order's history must be exactly what the generator's plan and the order
// service's recorded decisions imply — nothing missing, nothing duplicated.
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { MongoClient, type Document } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planCartEvents, type PlannedOrder } from "../../examples/order-fulfillment/src/cart-events.ts";
import { seededChoice } from "../../examples/order-fulfillment/src/random.ts";
import type { DemoSummary } from "../../examples/order-fulfillment/src/runner.ts";
import { mongoServer } from "../../examples/order-fulfillment/src/services.ts";

const RUN = join(resolve(import.meta.dirname, "../.."), "examples/order-fulfillment/run.ts");
const ORDERS = 30;

function runDemo(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [RUN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", fail);
    child.once("close", (code) => done({ code: code ?? 1, stdout, stderr }));
  });
}

/** The history document one order must end with (source_collection is checked separately). */
function expectedHistory(order: PlannedOrder, seed: number, shipped: Document | undefined): Document {
  const base = {
    _id: order.order_id,
    customer_id: order.customer_id,
    create_order_status_event: { status: "order_created", cart_id: order.cart_id },
  };
  const fulfilled = seededChoice(seed, "processOrder", order.order_id).fraction < 0.7;
  if (!fulfilled) {
    // invalidOrderToOrderTrackingStreamProcessor reads $fullDocument.cart_id after its $project: missing.
    return {
      ...base,
      cart_id: order.cart_id,
      items: order.items,
      create_invalid_order_status_event: { status: "order_invalid" },
    };
  }
  const delivered = seededChoice(seed, "shipOrder", order.order_id).fraction < 0.7;
  expect(shipped?.status).toBe(delivered ? "order_shipped" : "order_delayed");
  // The shipped / delayed trackers read $fullDocument._id after their $project: no shipment id.
  return {
    ...base,
    cart_id: order.cart_id,
    items: order.items,
    create_fulfilled_order_status_event: { status: "order_fulfilled", cart_id: order.cart_id },
    ...(delivered
      ? { create_shipped_order_status_event: { status: "order_shipped" } }
      : { create_delayed_shipped_order_status_event: { status: "order_shipment_delayed" } }),
  };
}

describe.each([
  { destination: "mongodb", seed: 7 },
  { destination: "kafka", seed: 8 },
])(
  "order-fulfillment demo, cart events to $destination, order service down for 5 s",
  ({ destination, seed }) => {
    let mongo: Awaited<ReturnType<typeof mongoServer>>;
    let client: MongoClient;
    let run: { code: number; stdout: string; stderr: string };
    let summary: DemoSummary;

    beforeAll(async () => {
      mongo = await mongoServer({});
      client = new MongoClient(mongo.value);
      await client.connect();
      const env: NodeJS.ProcessEnv = { ...process.env, MONGODB_URI: mongo.value };
      delete env.KAFKA_BROKERS; // the demo starts a broker of its own: its topic name is fixed
      run = await runDemo(
        [
          "--orders",
          String(ORDERS),
          "--seed",
          String(seed),
          "--destination",
          destination,
          "--rate",
          "20",
        ].concat(["--outage", "5", "--timeout", "150", "--json"]),
        env,
      );
      const last = run.stdout.trim().split("\n").at(-1) ?? "";
      if (!last.startsWith("{"))
        throw new Error(`the demo printed no summary (exit ${run.code}): ${run.stderr}`);
      summary = JSON.parse(last) as DemoSummary;
    }, 600_000);

    afterAll(async () => {
      await client?.close();
      await mongo?.stop();
    });

    it("completes every order, with an empty DLQ, and exits 0", () => {
      expect(run.stderr).toContain("fault drill: order service stopped for 5 s");
      // On a failure, the processors' counts and the demo's log tell a lost event from an overwritten one.
      const diagnosis = `processors: ${JSON.stringify(summary.processors)}\n${run.stderr}`;
      expect(
        {
          code: run.code,
          ok: summary.ok,
          completed: summary.completed,
          incomplete: summary.incomplete,
          overwritten: summary.overwritten,
          dlq: summary.dlqRecords,
        },
        diagnosis,
      ).toEqual({
        code: 0,
        ok: true,
        completed: ORDERS,
        incomplete: [],
        overwritten: [],
        dlq: 0,
      });
      expect(summary.processors.every((p) => p.dlq === 0)).toBe(true);
      // Orders were in flight while the service was down: the $https processors failed and were restarted.
      const restarted = summary.processors.filter((p) => p.restarts > 0).map((p) => p.name);
      expect(restarted.length).toBeGreaterThan(0);
    });

    it("builds each order's whole history from the generator's plan and the service's decisions", async () => {
      const plan = planCartEvents(seed, ORDERS);
      const histories = await client
        .db("orderhistorydb")
        .collection<{ _id: string; [field: string]: unknown }>("order_history")
        .find()
        .toArray();
      const shipments = await client
        .db("orderservicedb")
        .collection<{ _id: string; [field: string]: unknown }>("shipments")
        .find()
        .toArray();
      expect(histories.map((h) => h._id).sort()).toEqual(plan.orders.map((o) => o.order_id).sort());
      for (const order of plan.orders) {
        const history = histories.find((h) => h._id === order.order_id)!;
        const shipped = shipments.find((s) => s._id === order.order_id);
        const { source_collection, ...rest } = history;
        const expected = expectedHistory(order, seed, shipped);
        expect(rest).toEqual(expected);
        // The last tracker to merge sets source_collection; the fulfilled tracker may land after the shipment's.
        const terminal = expected.create_invalid_order_status_event
          ? ["invalid_orders"]
          : [
              expected.create_shipped_order_status_event ? "shipped_orders" : "delayed_orders",
              "fulfilled_orders",
            ];
        expect(terminal).toContain(source_collection);
      }
    });

    it("duplicates nothing: one order, one decision and at most one shipment per order", async () => {
      const count = (db: string, coll: string) => client.db(db).collection(coll).countDocuments();
      const fulfilled = await count("orderdb", "fulfilled_orders");
      expect(await count("orderdb", "orders")).toBe(ORDERS);
      expect(fulfilled + (await count("orderdb", "invalid_orders"))).toBe(ORDERS);
      const shipped = await client.db("shipmentdb").collection("shipped_orders").find().toArray();
      const delayed = await client.db("shipmentdb").collection("delayed_orders").find().toArray();
      const shipmentOrders = [...shipped, ...delayed].map((s) => s.order_id as string);
      expect(shipmentOrders).toHaveLength(fulfilled);
      expect(new Set(shipmentOrders).size).toBe(fulfilled);
      expect(summary.outcomes).toEqual({
        fulfilled,
        invalid: ORDERS - fulfilled,
        shipped: shipped.length,
        delayed: delayed.length,
      });
    });
  },
);

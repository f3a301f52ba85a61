// The demo's order service (order_processing_service.py) over node:http: POST /processOrder and
// POST /shipOrder receive the whole change event from $https (no payload) and read its fullDocument;
// GET /getOrderHistory?orderId=X reads orderhistorydb.order_history. 70 % of orders are fulfilled, 30 %
// invalid; 70 % of shipments ship, 30 % are delayed — decided from the seed and the order id, and kept in
// MongoDB (orderservicedb), so a request repeated after a failure gets the same answer and the same
// shipment id, and nothing downstream is duplicated.
//
// One difference from the Flask original: /processOrder answers once the order's history has its
// create_order_status_event (waiting at most HISTORY_WAIT_MS). shoppingCartToOrderTrackingStreamProcessor
// writes that history with $merge whenMatched "replace", racing the trackers that add the service's
// decision: a replace landing after them deletes the decision for good. Upstream, the service sits behind
// an ngrok tunnel whose round trip lets the order tracker win; on loopback the service answers within a
// millisecond, and the race shows (an order left without its fulfilled or invalid event).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Db, Document, MongoClient } from "mongodb";
import { seededChoice } from "./random.ts";

export const SERVICE_DB = "orderservicedb";
export const HISTORY_DB = "orderhistorydb";
/** How long /processOrder waits for the order's history to be created (see the header). */
export const HISTORY_WAIT_MS = 5_000;

/** What the service decided for one order, as stored in orderservicedb.processed_orders / shipments. */
export interface ServiceDecision {
  _id: string;
  order_id: string;
  cart_id?: unknown;
  status: string;
  items: unknown;
  shipment_id?: string;
  calls: number;
}

export interface OrderService {
  readonly url: string;
  /** Stops answering (connections refused) until `resume()`; for the fault drill. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export async function startOrderService(client: MongoClient, seed: number, port = 0): Promise<OrderService> {
  const db = client.db(SERVICE_DB);
  const history = client.db(HISTORY_DB).collection("order_history");
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    route(request, db, history, seed)
      .then(({ status, body }) => reply(response, status, body))
      .catch((error: Error) => reply(response, 500, { error: error.message }));
  };
  let server = createServer(handle);
  const listen = async (onPort: number): Promise<number> => {
    await new Promise<void>((done, fail) => {
      server.once("error", fail);
      server.listen(onPort, "127.0.0.1", () => done());
    });
    return (server.address() as AddressInfo).port;
  };
  const stop = (stopping: Server) =>
    new Promise<void>((done) => {
      stopping.close(() => done());
      stopping.closeAllConnections();
    });
  const boundPort = await listen(port);
  let running = true;
  return {
    url: `http://127.0.0.1:${boundPort}`,
    async pause() {
      if (!running) return;
      running = false;
      await stop(server);
    },
    async resume() {
      if (running) return;
      server = createServer(handle);
      await listen(boundPort);
      running = true;
    },
    async close() {
      if (running) await stop(server);
      running = false;
    },
  };
}

interface Reply {
  status: number;
  body: unknown;
}

async function route(
  request: IncomingMessage,
  db: Db,
  history: ReturnType<Db["collection"]>,
  seed: number,
): Promise<Reply> {
  const url = new URL(request.url ?? "/", "http://localhost");
  const key = `${request.method} ${url.pathname}`;
  if (key === "GET /") return { status: 200, body: { message: "Order processing service" } };
  if (key === "GET /getOrderHistory") {
    const orderId = url.searchParams.get("orderId");
    const found =
      orderId === null ? await history.findOne({}) : await history.findOne({ _id: orderId as never });
    if (found === null)
      return { status: 404, body: { error: orderId === null ? "No orders found" : "Order not found" } };
    return { status: 200, body: found };
  }
  if (key !== "POST /processOrder" && key !== "POST /shipOrder") {
    return { status: 404, body: { error: `no route ${key}` } };
  }
  const order = await readOrder(request);
  if (order === undefined)
    return { status: 400, body: { error: "expected a change event with fullDocument.order_id" } };
  if (key === "POST /processOrder") await historyCreated(history, order.order_id as string);
  const decision =
    key === "POST /processOrder" ? await processOrder(db, seed, order) : await shipOrder(db, seed, order);
  return { status: 200, body: { message: decision } };
}

/** Resolves once order `orderId`'s history has its create_order_status_event, or after HISTORY_WAIT_MS. */
async function historyCreated(history: ReturnType<Db["collection"]>, orderId: string): Promise<void> {
  const deadline = Date.now() + HISTORY_WAIT_MS;
  const created = { _id: orderId as never, create_order_status_event: { $exists: true } };
  while ((await history.countDocuments(created, { limit: 1 })) === 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 25));
}

/** The change event's fullDocument, when it names an order. */
async function readOrder(request: IncomingMessage): Promise<Document | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  try {
    const event = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Document;
    const order = event.fullDocument as Document | undefined;
    return typeof order?.order_id === "string" ? order : undefined;
  } catch {
    return undefined;
  }
}

async function processOrder(db: Db, seed: number, order: Document): Promise<Document> {
  const fulfilled = seededChoice(seed, "processOrder", order.order_id as string).fraction < 0.7;
  const decision = await decideOnce(db, "processed_orders", order.order_id as string, {
    order_id: order.order_id,
    cart_id: order.cart_id,
    status: fulfilled ? "order_fulfilled" : "order_invalid",
    items: order.items,
  });
  const { _id, order_id, cart_id, status, items } = decision;
  return { _id, order_id, cart_id, status, items };
}

async function shipOrder(db: Db, seed: number, order: Document): Promise<Document> {
  const choice = seededChoice(seed, "shipOrder", order.order_id as string);
  const decision = await decideOnce(db, "shipments", order.order_id as string, {
    order_id: order.order_id,
    shipment_id: choice.uuid,
    status: choice.fraction < 0.7 ? "order_shipped" : "order_delayed",
    items: order.items,
  });
  const { order_id, shipment_id, status, items } = decision;
  return { _id: shipment_id, order_id, shipment_id, status, items };
}

/** The stored decision for this order (made now if it is the first call), counting the calls. */
async function decideOnce(
  db: Db,
  collection: string,
  orderId: string,
  decision: Document,
): Promise<ServiceDecision> {
  const stored = await db
    .collection<ServiceDecision>(collection)
    .findOneAndUpdate(
      { _id: orderId },
      { $setOnInsert: decision, $inc: { calls: 1 } },
      { upsert: true, returnDocument: "after" },
    );
  if (stored === null) throw new Error(`could not record the decision for order ${orderId}`);
  return stored;
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}

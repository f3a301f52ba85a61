// Helpers for the event-dispatch tests: a local webhook receiver and a service configuration for a test database.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dispatchConfigFromEnv, type DispatchConfig } from "../../src/dispatch/config.ts";
import { ObjectId } from "mongodb";
import { eventually as poll } from "../server/helpers.ts";

export interface ReceivedWebhook {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

export type Responder = (request: ReceivedWebhook, res: ServerResponse) => void;

export interface Receiver {
  readonly url: string;
  readonly received: ReceivedWebhook[];
  /** How the receiver answers from now on (default: 200 at once). */
  respond(responder: Responder): void;
  close(): Promise<void>;
}

export const answer200: Responder = (_req, res) => res.writeHead(200).end("ok");

export async function startReceiver(): Promise<Receiver> {
  const received: ReceivedWebhook[] = [];
  let responder: Responder = answer200;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const request = {
        path: req.url ?? "/",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: Date.now(),
      };
      received.push(request);
      responder(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    respond: (next) => {
      responder = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A configuration for tests: the test MongoDB, a fresh data directory, short delays. */
export async function testConfig(
  mongoUrl: string,
  db: string,
  overrides: Partial<DispatchConfig> = {},
): Promise<DispatchConfig> {
  const base = dispatchConfigFromEnv({
    FC_MONGO_URL: mongoUrl,
    FC_MONGO_DB: db,
    FC_METRICS_PORT: "0",
    FC_DATA_DIR: await mkdtemp(join(tmpdir(), "eddy-dispatch-")),
  });
  return {
    ...base,
    pollIntervalMs: 20,
    timeoutMs: 1000,
    jobLeaseMs: 3000,
    leaseTtlMs: 1500,
    retry: { maxAttempts: 4, initialDelayMs: 50, multiplier: 2, maxDelayMs: 2000, jitter: 0.2 },
    breaker: { failureThreshold: 5, coolDownMs: 500 },
    ...overrides,
  };
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export function eventually<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  return poll(
    async () => {
      const value = await check();
      return value === false ? undefined : value;
    },
    timeoutMs,
    what,
  );
}

/** An active subscription of client `acme` to every `orders` event, delivered to `receiverUrl/name`. */
export function ordersSubscription(name: string, receiverUrl: string, extra: Record<string, unknown> = {}) {
  return {
    _id: new ObjectId(),
    client_id: "acme",
    name,
    event_type_pattern: "orders:*:*:*",
    target: `${receiverUrl}/${name}`,
    pool_code: "default",
    active: true,
    ...extra,
  };
}

/** `n` events of client `acme` of type `orders:fulfillment:shipment:shipped`, with ObjectId ids. */
export function orderEvents(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    _id: new ObjectId(),
    type: "orders:fulfillment:shipment:shipped",
    client_id: "acme",
    data: { i },
  }));
}

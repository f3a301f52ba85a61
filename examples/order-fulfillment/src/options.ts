// The demo runner's command line.
import { parseArgs, UsageError } from "../../../src/cli/args.ts";

export type Destination = "mongodb" | "kafka";

export interface DemoOptions {
  readonly orders: number;
  readonly destination: Destination;
  readonly seed: number;
  readonly timeoutSeconds: number;
  /** Cart events per second. */
  readonly rate: number;
  /** Seconds the order service is stopped once a third of the events were sent (0: no fault). */
  readonly outageSeconds: number;
  readonly json: boolean;
  /** Keep everything running after the summary, until Ctrl-C. */
  readonly keep: boolean;
}

export type Command =
  | { readonly kind: "run"; readonly options: DemoOptions }
  | { readonly kind: "history"; readonly orderId: string; readonly json: boolean }
  | { readonly kind: "help" };

export const USAGE = `usage: npm run demo:orders -- [--orders N] [--destination mongodb|kafka] [--seed N] [--timeout S]
                            [--rate EVENTS_PER_S] [--outage S] [--json] [--keep]
       npm run demo:orders -- --history ORDER_ID      (reads MONGODB_URI)

Runs MongoDB's order-fulfillment demo for Atlas Stream Processing on Eddy: its ten processors, unchanged,
on sp serve, with the order service and the cart event generator. Exit code 0 only if every order
completed and the dead letter queue is empty.

  --orders N             orders to generate (default 200)
  --destination D        where cart events go: mongodb (capped collection, default) or kafka (topic)
  --seed N               seed for customers, items, ids and the order service's decisions (default 1)
  --timeout S            give up S seconds after the first cart event (default 120)
  --rate N               cart events per second (default 50)
  --outage S             fault drill: stop the order service for S seconds a third of the way in
  --json                 print the summary as one JSON object
  --keep                 keep everything running after the summary (Ctrl-C stops it)
  --history ORDER_ID     print one order's history from orderhistorydb.order_history and exit

MONGODB_URI (a replica set) and KAFKA_BROKERS (a SASL_PLAINTEXT listener; KAFKA_USERNAME, KAFKA_PASSWORD)
are used when set; otherwise the demo starts a MongoDB stand-in and a Kafka broker and stops them after.`;

export function parseDemoArgs(args: readonly string[]): Command {
  const parsed = parseArgs(args, {
    valued: ["orders", "destination", "seed", "timeout", "rate", "outage", "history"],
    flags: ["json", "keep", "help", "h"],
  });
  if (parsed.flags.has("help") || parsed.flags.has("h")) return { kind: "help" };
  if (parsed.positional.length > 0) throw new UsageError(`unexpected argument ${parsed.positional[0]}`);
  const history = parsed.options.get("history");
  if (history !== undefined) return { kind: "history", orderId: history, json: parsed.flags.has("json") };
  const destination = parsed.options.get("destination") ?? "mongodb";
  if (destination !== "mongodb" && destination !== "kafka") {
    throw new UsageError(`--destination must be mongodb or kafka, got ${destination}`);
  }
  const number = (name: string, fallback: number, min: number): number => {
    const raw = parsed.options.get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min)
      throw new UsageError(`--${name} must be a number ≥ ${min}, got ${raw}`);
    return value;
  };
  const orders = number("orders", 200, 1);
  if (!Number.isInteger(orders)) throw new UsageError(`--orders must be a whole number, got ${orders}`);
  return {
    kind: "run",
    options: {
      orders,
      destination,
      seed: Math.trunc(number("seed", 1, 0)),
      timeoutSeconds: number("timeout", 120, 1),
      rate: number("rate", 50, 0.1),
      outageSeconds: number("outage", 0, 0),
      json: parsed.flags.has("json"),
      keep: parsed.flags.has("keep"),
    },
  };
}

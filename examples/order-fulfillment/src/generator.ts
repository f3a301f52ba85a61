// Sends the planned cart events at a fixed rate, each stamped with the epoch-ms time it is sent: into the
// capped collection as {_id, timestamp, event_type, cart_data} (destination mongodb), or as the bare cart
// JSON keyed by customer id to the Kafka topic shopping-cart-events (destination kafka).
import { Producer, stringSerializers } from "@platformatic/kafka";
import type { MongoClient } from "mongodb";
import { setTimeout as sleep } from "node:timers/promises";
import type { CartState } from "./cart-events.ts";
import { seededRandom } from "./random.ts";
import { CART_DB, INCOMING_EVENTS } from "./setup.ts";
import type { KafkaAccess } from "./services.ts";

export const CART_TOPIC = "shopping-cart-events";

export interface SendOptions {
  readonly seed: number;
  /** Events per second. */
  readonly rate: number;
  /** Called after each event with its index and send time (for latency and the fault drill). */
  readonly onSent?: (index: number, cart: CartState, sentAt: number) => void;
  readonly signal?: AbortSignal;
}

export type CartEventWriter = (cart: CartState, timestamp: number) => Promise<void>;

export async function sendCartEvents(
  events: readonly CartState[],
  write: CartEventWriter,
  options: SendOptions,
): Promise<void> {
  const started = Date.now();
  for (let i = 0; i < events.length; i++) {
    if (options.signal?.aborted) return;
    const due = started + (i * 1000) / options.rate;
    if (due > Date.now()) await sleep(due - Date.now());
    const sentAt = Date.now();
    await write(events[i], sentAt);
    options.onSent?.(i, events[i], sentAt);
  }
}

export function mongoCartWriter(client: MongoClient, seed: number): CartEventWriter {
  const events = client.db(CART_DB).collection(INCOMING_EVENTS);
  const ids = seededRandom(seed, "capped-event-ids");
  return async (cart, timestamp) => {
    await events.insertOne({
      _id: ids.uuid() as never,
      timestamp,
      event_type: cart.status,
      cart_data: { ...cart, timestamp },
    });
  };
}

export function kafkaCartWriter(kafka: KafkaAccess): { write: CartEventWriter; close(): Promise<void> } {
  const producer = new Producer({
    clientId: "order-fulfillment-generator",
    bootstrapBrokers: kafka.brokers,
    sasl: { mechanism: "PLAIN", username: kafka.username, password: kafka.password },
    serializers: stringSerializers,
    acks: 1,
  });
  return {
    async write(cart, timestamp) {
      await producer.send({
        messages: [
          { topic: CART_TOPIC, key: String(cart.customer_id), value: JSON.stringify({ ...cart, timestamp }) },
        ],
      });
    },
    close: () => producer.close(),
  };
}

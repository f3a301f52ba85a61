// Watches orderhistorydb.order_history until every planned order's history is whole (its terminal status
// event, and the events the trackers before it add), timing each one from the cart event that created it.
import type { ChangeStream, Document, MongoClient } from "mongodb";
import { HISTORY_DB } from "./order-service.ts";

/** The history fields that end an order's journey, one per terminal tracking processor. */
export const TERMINAL_EVENTS = [
  "create_invalid_order_status_event",
  "create_shipped_order_status_event",
  "create_delayed_shipped_order_status_event",
] as const;

/**
 * The trackers run in parallel, each on its own change stream: an order's shipped (or delayed) event can
 * land before the fulfilled tracker, restarted after an outage, has caught up. A history is whole only with
 * its terminal event and, for a shipment, the fulfilled event that comes before it.
 */
export function isComplete(history: Document | null | undefined): boolean {
  if (history === null || history === undefined) return false;
  if (!TERMINAL_EVENTS.some((key) => history[key] !== undefined)) return false;
  if (history.create_invalid_order_status_event !== undefined) return true;
  return history.create_fulfilled_order_status_event !== undefined;
}

/** Every status event a tracker adds to a history, in the order an order's journey adds them. */
export const STATUS_EVENTS = [
  "create_order_status_event",
  "create_fulfilled_order_status_event",
  ...TERMINAL_EVENTS,
] as const;

/** The status events a history has (none without a history). */
function statusEventsOf(history: Document | undefined): string[] {
  return STATUS_EVENTS.filter((key) => history?.[key] !== undefined);
}

/** An order still pending at the end, with the status events its history has. */
export interface IncompleteOrder {
  orderId: string;
  has: string[];
}

/** A history that a `replace` emptied of status events it had (a late or repeated replace). */
export interface OverwrittenHistory {
  orderId: string;
  lost: string[];
}

export interface CompletionWatch {
  /** Records when the cart event that created `orderId` was sent. */
  orderSent(orderId: string, sentAt: number): void;
  /** Resolves true once every order completed, false at the deadline. */
  waitForAll(deadline: number): Promise<boolean>;
  /** Milliseconds from the cart event to the history update that completed it, per completed order. */
  latencies(): number[];
  completedCount(): number;
  /** The orders still pending, read from the histories now. */
  incomplete(): Promise<IncompleteOrder[]>;
  /** Histories that lost status events to a replace, as the change stream showed them. */
  overwritten(): OverwrittenHistory[];
  close(): Promise<void>;
}

export async function watchCompletion(
  client: MongoClient,
  orderIds: readonly string[],
): Promise<CompletionWatch> {
  const history = client.db(HISTORY_DB).collection("order_history");
  const pending = new Set(orderIds);
  const sentAt = new Map<string, number>();
  const completedAt = new Map<string, number>();
  const complete = (id: unknown, at: number): void => {
    if (typeof id !== "string" || !pending.delete(id)) return;
    completedAt.set(id, at);
  };
  /** The histories of `ids`, by id. */
  const historiesOf = async (ids: readonly string[]): Promise<Document[]> =>
    history.find({ _id: { $in: ids as never[] } }).toArray();
  // shoppingCartToOrderTrackingStreamProcessor replaces the whole history ($merge whenMatched "replace"):
  // landing after another tracker's merge, it removes that tracker's event for good (the order is pending
  // again, and the replace is recorded in `overwritten`).
  const statusEventsSeen = new Map<string, string[]>();
  const overwritten: OverwrittenHistory[] = [];
  const noteStatusEvents = (event: Document, doc: Document): void => {
    const id = doc._id as string;
    const has = statusEventsOf(doc);
    const lost = (statusEventsSeen.get(id) ?? []).filter((key) => !has.includes(key));
    if (event.operationType === "replace" && lost.length > 0) overwritten.push({ orderId: id, lost });
    statusEventsSeen.set(id, has);
  };
  const stream: ChangeStream = history.watch([], { fullDocument: "updateLookup" });
  await stream.tryNext(); // opens the cursor now, so no update is missed
  let closed = false;
  const follow = (async () => {
    while (!closed) {
      try {
        const event = await stream.tryNext();
        // A server that answers an empty getMore at once (the stand-in) must not be polled in a tight loop.
        if (event === null) await new Promise((resolve) => setTimeout(resolve, 100));
        if (event === null) continue;
        const doc = (event as Document).fullDocument as Document | undefined;
        if (doc !== undefined && doc !== null) noteStatusEvents(event as Document, doc);
        if (isComplete(doc)) complete(doc!._id, Date.now());
      } catch {
        if (!closed) await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  })();
  // A safety net next to the change stream: a periodic look at what is still pending.
  const reconcile = async (): Promise<void> => {
    if (pending.size === 0) return;
    const now = Date.now();
    for (const doc of await historiesOf([...pending])) {
      if (isComplete(doc)) complete(doc._id, now);
    }
  };
  const lostSinceCompleted = async (): Promise<number> => {
    const done = await historiesOf([...completedAt.keys()]);
    const stillComplete = new Set(done.filter(isComplete).map((doc) => doc._id as unknown as string));
    let lost = 0;
    for (const id of [...completedAt.keys()]) {
      if (stillComplete.has(id)) continue;
      completedAt.delete(id);
      pending.add(id);
      lost++;
    }
    return lost;
  };
  return {
    orderSent: (orderId, at) => void sentAt.set(orderId, at),
    async waitForAll(deadline) {
      while (Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await reconcile().catch(() => undefined);
        if (pending.size === 0 && (await lostSinceCompleted()) === 0) return true;
      }
      return false;
    },
    latencies: () =>
      [...completedAt].flatMap(([id, at]) => (sentAt.has(id) ? [Math.max(0, at - sentAt.get(id)!)] : [])),
    completedCount: () => completedAt.size,
    async incomplete() {
      const ids = [...pending].sort();
      const found = new Map((await historiesOf(ids)).map((doc) => [doc._id as unknown, doc]));
      return ids.map((orderId) => ({ orderId, has: statusEventsOf(found.get(orderId)) }));
    },
    overwritten: () => [...overwritten],
    async close() {
      closed = true;
      await stream.close().catch(() => undefined);
      await follow;
    },
  };
}

/** The p-th percentile (0–100) by nearest rank; undefined for no values. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

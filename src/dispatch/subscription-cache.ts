/**
 * The active subscriptions, held in memory and indexed by client and event-type pattern, kept current from
 * a change stream on the `subscriptions` collection. Matching an event is one index lookup in its client's
 * pattern trie plus the payload filters of the few subscriptions found — never a read of the collection.
 */
import type { ChangeStream, ChangeStreamDocument, Collection } from "mongodb";
import type { Logger } from "../runtime/log.ts";
import {
  SubscriptionIndex,
  type CompiledSubscription,
  type SubscriptionProblem,
} from "./subscription-index.ts";
import type { EventDoc, SubscriptionDoc } from "./types.ts";

/**
 * The least time between two polls of the subscriptions stream that find nothing; it doubles after each
 * empty poll up to the maximum, and a change brings it back. (Only servers that answer an empty getMore at
 * once are polled; each such poll of the test stand-in scans its whole oplog.)
 */
const IDLE_POLL_MS = { first: 250, max: 1000 };

export class SubscriptionCache {
  private readonly index: SubscriptionIndex;
  private stream: ChangeStream<SubscriptionDoc> | undefined;
  private closed = false;
  private loop: Promise<void> | undefined;
  private warnedUnkeyed = false;
  private reloadCount = 0;

  private readonly collection: Collection<SubscriptionDoc>;
  private readonly logger: Logger;

  constructor(collection: Collection<SubscriptionDoc>, logger: Logger) {
    this.collection = collection;
    this.logger = logger;
    this.index = new SubscriptionIndex({
      onInvalid: (subscriptionId, error) => logger.warn("invalid subscription", { subscriptionId, error }),
    });
  }

  /** Opens the change stream, then loads every subscription; later changes are applied as they come. */
  async start(): Promise<void> {
    await this.openAndLoad();
    this.loop = this.follow();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stream?.close().catch(() => undefined);
    await this.loop;
  }

  /** Active subscriptions of `event.client_id` whose pattern and filter match the event (SubscriptionIndex.match). */
  match(
    event: EventDoc,
    onFilterError?: (subscriptionId: string, error: Error) => void,
  ): CompiledSubscription[] {
    return this.index.match(event, onFilterError);
  }

  /** Active, valid subscriptions held. */
  get size(): number {
    return this.index.size;
  }

  /** Subscriptions left out because their pattern, target or filter is invalid. */
  problems(): SubscriptionProblem[] {
    return this.index.problems();
  }

  private async openAndLoad(): Promise<void> {
    this.stream = this.collection.watch([], { fullDocument: "updateLookup", maxAwaitTimeMS: 500 });
    await this.stream.tryNext().then((change) => change && this.onChange(change)); // opens the server cursor first
    await this.reload();
  }

  /** How often all subscriptions were read: once at start, then only after a stream error or an unkeyed change. */
  get reloads(): number {
    return this.reloadCount;
  }

  private async reload(): Promise<void> {
    this.reloadCount++;
    const all = await this.collection.find({}).toArray();
    this.index.clear();
    for (const doc of all) this.index.apply(doc);
  }

  private async follow(): Promise<void> {
    let failures = 0;
    let emptyPolls = 0;
    while (!this.closed) {
      try {
        const stream = this.stream;
        if (!stream) throw new Error("the subscriptions change stream is closed");
        const polledAt = performance.now();
        const change = await stream.tryNext();
        if (change) await this.onChange(change);
        failures = 0;
        // MongoDB holds an empty getMore for maxAwaitTimeMS; a server that answers at once (the test
        // stand-in) would otherwise be polled in a tight loop.
        emptyPolls = change ? 0 : emptyPolls + 1;
        const pause = Math.min(IDLE_POLL_MS.max, IDLE_POLL_MS.first * 2 ** Math.max(0, emptyPolls - 1));
        const early = change ? 0 : pause - (performance.now() - polledAt);
        if (early > 0 && !this.closed) await new Promise((resolve) => setTimeout(resolve, early));
      } catch (error) {
        if (this.closed) return;
        failures++;
        this.logger.warn("subscriptions change stream failed; reopening and reloading", {
          error: (error as Error).message,
          attempt: failures,
        });
        await this.stream?.close().catch(() => undefined);
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(10_000, 100 * 2 ** Math.min(failures, 10))),
        );
        if (!this.closed) await this.openAndLoad().catch(() => undefined);
      }
    }
  }

  private async onChange(change: ChangeStreamDocument<SubscriptionDoc>): Promise<void> {
    switch (change.operationType) {
      case "insert":
      case "replace":
      case "update": {
        // MongoDB names the changed document in documentKey._id on every event; the looked-up fullDocument is
        // the whole current document (with its _id), or null when it was deleted before the lookup.
        const id = (change.documentKey as { _id?: unknown } | undefined)?._id;
        const doc = change.fullDocument;
        if (id === undefined || (doc && doc._id === undefined))
          return this.reloadForUnkeyed(change.operationType);
        if (doc) this.index.apply(doc);
        else this.index.remove(String(id));
        return;
      }
      case "delete":
        this.index.remove(String(change.documentKey._id));
        return;
      default:
        // drop, rename, invalidate…: start over from the collection.
        await this.reload();
    }
  }

  /**
   * A server whose change events do not say which document changed, or carry a partial document (the test
   * stand-in's updates and replacements, docs/testing.md): read everything again.
   */
  private async reloadForUnkeyed(operationType: string): Promise<void> {
    if (!this.warnedUnkeyed) {
      this.warnedUnkeyed = true;
      this.logger.warn(
        "the server sends subscription changes without documentKey._id or a full document: each one reloads all subscriptions",
        { operationType },
      );
    }
    await this.reload();
  }
}

/**
 * The active subscriptions, held in memory and indexed by client and event-type pattern, kept current from
 * a change stream on the `subscriptions` collection. Matching an event is one index lookup in its client's
 * pattern trie plus the payload filters of the few subscriptions found — never a read of the collection.
 */
import type { ChangeStream, ChangeStreamDocument, Collection } from "mongodb";
import { compileQuery, type Doc, type Predicate } from "../mql/index.ts";
import type { Logger } from "../runtime/log.ts";
import { parsePattern } from "./event-type.ts";
import { PatternIndex } from "./pattern-index.ts";
import type { EventDoc, SubscriptionDoc } from "./types.ts";

export interface CompiledSubscription {
  readonly key: string;
  readonly doc: SubscriptionDoc;
  readonly filter: Predicate | undefined;
}

export interface SubscriptionProblem {
  readonly subscriptionId: string;
  readonly message: string;
}

export class SubscriptionCache {
  private readonly byClient = new Map<string, PatternIndex<CompiledSubscription>>();
  /** subscription key → its client, to find the entry again on delete. */
  private readonly clientOf = new Map<string, string>();
  private readonly problemsById = new Map<string, string>();
  private stream: ChangeStream<SubscriptionDoc> | undefined;
  private closed = false;
  private loop: Promise<void> | undefined;

  private readonly collection: Collection<SubscriptionDoc>;
  private readonly logger: Logger;
  private readonly onFilterError: (subscriptionId: string, error: Error) => void;

  constructor(
    collection: Collection<SubscriptionDoc>,
    logger: Logger,
    onFilterError: (subscriptionId: string, error: Error) => void = () => {},
  ) {
    this.collection = collection;
    this.logger = logger;
    this.onFilterError = onFilterError;
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

  /** Active subscriptions of `event.client_id` whose pattern and filter match the event. */
  match(event: EventDoc): CompiledSubscription[] {
    const index = this.byClient.get(event.client_id);
    if (!index) return [];
    const found = index.match(event.type);
    if (found.every((s) => s.filter === undefined)) return found;
    return found.filter((s) => {
      if (!s.filter) return true;
      try {
        return s.filter(event as unknown as Doc);
      } catch (error) {
        this.onFilterError(s.key, error as Error);
        return false;
      }
    });
  }

  /** Active, valid subscriptions held. */
  get size(): number {
    let n = 0;
    for (const index of this.byClient.values()) n += index.size;
    return n;
  }

  /** Subscriptions left out because their pattern or filter is invalid. */
  problems(): SubscriptionProblem[] {
    return [...this.problemsById].map(([subscriptionId, message]) => ({ subscriptionId, message }));
  }

  /** Adds, replaces or (inactive / invalid) drops one subscription. */
  apply(doc: SubscriptionDoc): void {
    const key = String(doc._id);
    this.remove(key);
    if (doc.active !== true) return;
    let compiled: CompiledSubscription;
    try {
      parsePattern(doc.event_type_pattern);
      if (typeof doc.client_id !== "string") throw new Error("client_id must be a string");
      if (typeof doc.target !== "string" || !/^https?:\/\//.test(doc.target))
        throw new Error("target must be an http:// or https:// URL");
      const filter =
        doc.filters === undefined || doc.filters === null
          ? undefined
          : compileQuery(doc.filters, { path: "filters" });
      compiled = { key, doc, filter };
    } catch (error) {
      const message = `subscription '${key}' is ignored: ${(error as Error).message}; fix the subscription document`;
      this.problemsById.set(key, message);
      this.logger.warn("invalid subscription", { subscriptionId: key, error: message });
      return;
    }
    let index = this.byClient.get(doc.client_id);
    if (!index) this.byClient.set(doc.client_id, (index = new PatternIndex()));
    index.add(key, doc.event_type_pattern, compiled);
    this.clientOf.set(key, doc.client_id);
  }

  remove(key: string): void {
    this.problemsById.delete(key);
    const client = this.clientOf.get(key);
    if (client === undefined) return;
    this.clientOf.delete(key);
    const index = this.byClient.get(client);
    index?.remove(key);
    if (index?.size === 0) this.byClient.delete(client);
  }

  private async openAndLoad(): Promise<void> {
    this.stream = this.collection.watch([], { fullDocument: "updateLookup", maxAwaitTimeMS: 500 });
    await this.stream.tryNext().then((change) => change && this.onChange(change)); // opens the server cursor first
    await this.reload();
  }

  private async reload(): Promise<void> {
    const all = await this.collection.find({}).toArray();
    this.byClient.clear();
    this.clientOf.clear();
    this.problemsById.clear();
    for (const doc of all) this.apply(doc);
  }

  private async follow(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      try {
        const stream = this.stream;
        if (!stream) throw new Error("the subscriptions change stream is closed");
        const change = await stream.tryNext();
        if (change) await this.onChange(change);
        failures = 0;
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
        const doc = change.fullDocument;
        // Some servers (the test stand-in) send update lookups without `_id`: read everything again.
        if (!doc || doc._id === undefined) await this.reload();
        else this.apply(doc);
        return;
      }
      case "delete":
        this.remove(String(change.documentKey._id));
        return;
      default:
        // drop, rename, invalidate…: start over from the collection.
        await this.reload();
    }
  }
}

/**
 * Active subscriptions indexed by client and event-type pattern, with their payload filters compiled once.
 * Matching an event is one lookup in its client's pattern trie plus the filters of the few subscriptions
 * found, so its cost does not grow with the number of subscriptions.
 */
import { compileQuery, type Doc, type Predicate } from "../mql/index.ts";
import { EventTypeError, parsePattern } from "./event-type.ts";
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

export interface SubscriptionIndexHooks {
  /** A filter threw on an event (the event does not match that subscription). */
  readonly onFilterError?: (subscriptionId: string, error: Error) => void;
  /** A subscription was left out: its pattern, target or filter is invalid. */
  readonly onInvalid?: (subscriptionId: string, message: string) => void;
}

export class SubscriptionIndex {
  private readonly byClient = new Map<string, PatternIndex<CompiledSubscription>>();
  /** subscription key → its client, to find the entry again on delete. */
  private readonly clientOf = new Map<string, string>();
  private readonly problemsById = new Map<string, string>();
  private readonly hooks: SubscriptionIndexHooks;

  constructor(hooks: SubscriptionIndexHooks = {}) {
    this.hooks = hooks;
  }

  /**
   * Active subscriptions of `event.client_id` whose pattern and filter match the event. A filter that throws
   * leaves its subscription out and is reported to `onFilterError` (default: the hook given at construction).
   */
  match(
    event: EventDoc,
    onFilterError: SubscriptionIndexHooks["onFilterError"] = this.hooks.onFilterError,
  ): CompiledSubscription[] {
    if (typeof event.client_id !== "string") {
      throw new EventTypeError(
        `event client_id must be a string, got ${JSON.stringify(event.client_id) ?? "nothing"}`,
      );
    }
    const index = this.byClient.get(event.client_id);
    if (!index) return [];
    const found = index.match(event.type);
    if (found.every((s) => s.filter === undefined)) return found;
    return found.filter((s) => {
      if (!s.filter) return true;
      try {
        return s.filter(event as unknown as Doc);
      } catch (error) {
        onFilterError?.(s.key, error as Error);
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
      this.hooks.onInvalid?.(key, message);
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

  clear(): void {
    this.byClient.clear();
    this.clientOf.clear();
    this.problemsById.clear();
  }
}

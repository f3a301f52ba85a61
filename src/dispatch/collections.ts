/** The collections of event dispatch in the FlowCatalyst database, and the indexes created at start. */
import type { Collection, Db, Document } from "mongodb";
import type { DispatchJob, EventDoc, SubscriptionDoc } from "./types.ts";

/** A read-model document, keyed by event type, subscription id or client id. */
export interface ReadModelDoc extends Document {
  _id: string;
}

export interface DispatchCollections {
  readonly events: Collection<EventDoc>;
  readonly subscriptions: Collection<SubscriptionDoc>;
  readonly jobs: Collection<DispatchJob>;
  /** Read models kept by the matcher and the dispatcher. */
  readonly eventTypeCounts: Collection<ReadModelDoc>;
  readonly subscriptionStats: Collection<ReadModelDoc>;
  readonly clientActivity: Collection<ReadModelDoc>;
  /** The matcher's dead letters, in ASP's DLQ record shape (src/dispatch/matcher-stats.ts). */
  readonly deadLetters: Collection<Document>;
}

export function dispatchCollections(db: Db): DispatchCollections {
  return {
    events: db.collection<EventDoc>("events"),
    subscriptions: db.collection<SubscriptionDoc>("subscriptions"),
    jobs: db.collection<DispatchJob>("dispatch_jobs"),
    eventTypeCounts: db.collection<ReadModelDoc>("event_type_counts"),
    subscriptionStats: db.collection<ReadModelDoc>("subscription_stats"),
    clientActivity: db.collection<ReadModelDoc>("client_activity"),
    deadLetters: db.collection("dispatch_dlq"),
  };
}

/** Idempotent: creating an index that exists with the same keys and options is a no-op. */
export async function ensureIndexes(c: DispatchCollections): Promise<void> {
  await Promise.all([
    c.events.createIndex({ type: 1 }),
    c.events.createIndex({ client_id: 1, time: -1 }),
    c.subscriptions.createIndex({ client_id: 1, active: 1 }),
    c.jobs.createIndex({ status: 1, scheduled_at: 1 }),
    // Replays of the events stream after a crash insert the same jobs again: this index turns them into no-ops.
    c.jobs.createIndex({ event_id: 1, subscription_id: 1 }, { unique: true }),
    c.jobs.createIndex({ subscription_id: 1, created_at: -1 }),
    // Claims and results are compare-and-set updates on this key (JobStore); unique since _id is.
    c.jobs.createIndex(
      { _id: 1, status: 1, lease_owner: 1, scheduled_at: 1 },
      { unique: true, name: "job_state" },
    ),
    // A claim that lost some jobs to another dispatcher reads the rest back by its token.
    c.jobs.createIndex({ lease_owner: 1 }),
  ]);
}

/** Document shapes of event dispatch (docs/event-dispatch.md): events, subscriptions and dispatch jobs. */
import type { ObjectId } from "mongodb";

export type DocId = ObjectId | string;

/** A CloudEvents-style record in the `events` collection; `type` is `domain:category:resource:action`. */
export interface EventDoc {
  readonly _id: DocId;
  readonly type: string;
  readonly client_id: string;
  readonly source?: string;
  readonly subject?: string;
  readonly time?: Date;
  readonly data?: unknown;
  readonly metadata?: Record<string, unknown>;
  readonly [field: string]: unknown;
}

export interface SubscriptionDoc {
  readonly _id: DocId;
  readonly client_id: string;
  readonly name: string;
  /** Four `:`-separated segments, each literal or `*`. */
  readonly event_type_pattern: string;
  /** Webhook URL (http or https). */
  readonly target: string;
  readonly pool_code: string;
  readonly active: boolean;
  /** An MQL query filter over the event document (`data.*`, `source`, `metadata.*`, …). */
  readonly filters?: Record<string, unknown>;
  /** Standard Webhooks signing secret, `whsec_<base64>`; without one webhooks go unsigned. */
  readonly secret?: string;
}

export const JOB_STATUSES = ["PENDING", "IN_PROGRESS", "RETRY", "DELIVERED", "FAILED", "CANCELLED"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface DispatchJob {
  readonly _id: string;
  readonly event_id: DocId;
  readonly subscription_id: DocId;
  readonly client_id: string;
  status: JobStatus;
  readonly target: string;
  readonly pool_code: string;
  scheduled_at: Date;
  attempts: number;
  last_attempt_at: Date | null;
  last_error: string | null;
  readonly created_at: Date;
  /** The dispatcher holding the job while IN_PROGRESS, and until when. */
  lease_owner?: string | null;
  lease_expires_at?: Date | null;
  /** HTTP status of the last attempt, when there was a response. */
  last_status_code?: number | null;
}

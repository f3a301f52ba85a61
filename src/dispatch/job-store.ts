/**
 * Dispatch jobs in MongoDB: idempotent creation, claiming due jobs under a lease, recording attempt results
 * (only while the lease is still ours), and the operators' list / retry / cancel.
 */
import { randomUUID } from "node:crypto";
import { MongoBulkWriteError, ObjectId, type AnyBulkWriteOperation, type Filter } from "mongodb";
import type { LeaseStore } from "../control/leases/lease.ts";
import { errorMessage } from "../errors/codes.ts";
import type { DispatchCollections } from "./collections.ts";
import { JOB_STATUSES, type DispatchJob, type DocId, type JobStatus } from "./types.ts";

const DUPLICATE_KEY = 11000;
/** How long a dispatcher that died while claiming blocks the others. */
const CLAIM_LOCK_TTL_MS = 5000;

export interface NewJob {
  readonly event_id: DocId;
  readonly subscription_id: DocId;
  readonly client_id: string;
  readonly target: string;
  readonly pool_code: string;
}

/** A claimed job and the claim token that must accompany its result. */
export interface Claimed {
  readonly job: DispatchJob;
  readonly claim: string;
}

/** Which new jobs `JobStore.create` inserts already claimed, under which claim token and until when. */
export interface CreateLease {
  /** Index into the jobs given to `create` → the claim token it is created under. */
  readonly taken: ReadonlyMap<number, string>;
  readonly expiresAt: Date;
}

export type AttemptResult =
  | { readonly status: "DELIVERED"; readonly statusCode: number }
  | {
      readonly status: "RETRY";
      readonly scheduledAt: Date;
      readonly error: string;
      readonly statusCode?: number;
    }
  | { readonly status: "FAILED"; readonly error: string; readonly statusCode?: number }
  /** Not attempted (breaker open, no pool slot): back to RETRY at `scheduledAt` without counting an attempt. */
  | { readonly status: "DEFERRED"; readonly scheduledAt: Date };

/** An attempt's result, for `record`. */
export interface Outcome {
  readonly claimed: Claimed;
  readonly result: AttemptResult;
  readonly at: Date;
}

export type JobErrorCode = "JOB_NOT_FOUND" | "JOB_STATE_CONFLICT" | "INVALID_JOB_QUERY";

export class JobOperationError extends Error {
  override readonly name = "JobOperationError";
  readonly code: JobErrorCode;

  constructor(message: string, code: JobErrorCode) {
    super(message);
    this.code = code;
  }
}

export interface JobQuery {
  readonly status?: string;
  readonly subscriptionId?: string;
  readonly eventId?: string;
  readonly clientId?: string;
  readonly limit?: number;
}

export class JobStore {
  private readonly c: DispatchCollections;
  private readonly now: () => Date;

  constructor(collections: DispatchCollections, now: () => Date = () => new Date()) {
    this.c = collections;
    this.now = now;
  }

  /**
   * Inserts the jobs; those already there (a replay) are skipped. Returns the ones actually created. Jobs
   * `lease` takes are created IN_PROGRESS under its claim: the insert is the claim (a co-located dispatcher's
   * hand-off, Dispatcher.reserve), so no other dispatcher takes them before the lease expires.
   */
  async create(jobs: readonly NewJob[], lease?: CreateLease): Promise<DispatchJob[]> {
    if (jobs.length === 0) return [];
    const now = this.now();
    const docs: DispatchJob[] = jobs.map((j, i) => {
      const claim = lease?.taken.get(i);
      return {
        _id: new ObjectId().toHexString(),
        ...j,
        status: "PENDING",
        scheduled_at: now,
        attempts: 0,
        last_attempt_at: null,
        last_error: null,
        created_at: now,
        ...(claim && lease
          ? { status: "IN_PROGRESS", lease_owner: claim, lease_expires_at: lease.expiresAt }
          : {}),
      };
    });
    try {
      await this.c.jobs.insertMany(docs, { ordered: false });
      return docs;
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError)) throw error;
      const failures = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
      if (failures.some((f) => f.code !== DUPLICATE_KEY)) throw error;
      const duplicate = new Set(failures.map((f) => f.index));
      return docs.filter((_, i) => !duplicate.has(i));
    }
  }

  /**
   * Claims up to `limit` due jobs for `leaseMs`: PENDING/RETRY jobs whose `scheduled_at` has come, and
   * IN_PROGRESS jobs whose lease expired (their dispatcher died). `excludePools` skips pools without room.
   *
   * Round trips: one `find` of the due jobs (all a poll costs when nothing is due); when some are, one
   * conditional `updateMany` setting a fresh claim token on those still due — if it took them all, the jobs
   * read are the jobs claimed (patched locally, no second read); only when another dispatcher or an operator
   * got in between are the claimed ones read back by the token. The update re-checks "due" per document, so
   * two dispatchers never hold the same job. With `lock`, the update runs under a short lease that all
   * dispatchers' claims take turns on (two more round trips, only when something is due).
   */
  async claim(
    owner: string,
    limit: number,
    leaseMs: number,
    excludePools: readonly string[] = [],
    lock?: LeaseStore,
  ): Promise<Claimed[]> {
    if (limit <= 0) return [];
    const candidates = await this.c.jobs
      .find(this.due(this.now(), excludePools), { limit, sort: { scheduled_at: 1 } })
      .toArray();
    if (candidates.length === 0) return [];
    if (!lock) return this.take(owner, candidates, leaseMs, excludePools);
    // Some servers (the test stand-in) do not re-check a multi-document update's filter atomically per
    // document, so two overlapping claims could both take a job: there, claims take turns.
    const held = await lock.tryAcquire(
      `dispatch/claim/${this.c.jobs.collectionName}`,
      owner,
      CLAIM_LOCK_TTL_MS,
    );
    if (!held) return [];
    try {
      return await this.take(owner, candidates, leaseMs, excludePools);
    } finally {
      await lock.release(held).catch(() => undefined);
    }
  }

  private due(now: Date, excludePools: readonly string[]): Filter<DispatchJob> {
    return {
      $or: [
        { status: { $in: ["PENDING", "RETRY"] }, scheduled_at: { $lte: now } },
        { status: "IN_PROGRESS", lease_expires_at: { $lte: now } },
      ],
      ...(excludePools.length > 0 ? { pool_code: { $nin: [...excludePools] } } : {}),
    };
  }

  private async take(
    owner: string,
    candidates: DispatchJob[],
    leaseMs: number,
    excludePools: readonly string[],
  ): Promise<Claimed[]> {
    const now = this.now();
    const claim = `${owner}/${randomUUID()}`;
    const lease = {
      status: "IN_PROGRESS" as const,
      lease_owner: claim,
      lease_expires_at: new Date(now.getTime() + leaseMs),
    };
    const ids = candidates.map((j) => j._id);
    const updated = await this.c.jobs.updateMany(
      { _id: { $in: ids }, ...this.due(now, excludePools) },
      { $set: lease },
    );
    const jobs =
      updated.modifiedCount === candidates.length
        ? candidates.map((job) => ({ ...job, ...lease }))
        : await this.c.jobs.find({ _id: { $in: ids }, lease_owner: claim, status: "IN_PROGRESS" }).toArray();
    return jobs.map((job) => ({ job, claim }));
  }

  /**
   * Records attempt results in one bulk write. A result whose claim is no longer the job's (lease expired and
   * taken, or the job cancelled meanwhile) changes nothing. Deliveries of one claim with one status code share
   * one update; claims in `complete` (every job of it still leased has its result in `results`) are updated
   * by their tokens alone, not by job ids, all those with one status code in one update (`last_attempt_at` is
   * then the first such delivery's time). The single-job updates go first (the bulk write is ordered), so a
   * claim-wide update only finds the claims' delivered jobs. Returns how many were recorded.
   */
  async record(results: readonly Outcome[], complete: ReadonlySet<string> = new Set()): Promise<number> {
    if (results.length === 0) return 0;
    const ops: AnyBulkWriteOperation<DispatchJob>[] = [];
    const delivered = new Map<string, { claim: string; statusCode: number; at: Date; ids: string[] }>();
    const groupsPerClaim = new Map<string, number>();
    for (const { claimed, result, at } of results) {
      if (result.status === "DELIVERED") {
        const key = `${claimed.claim}|${result.statusCode}`;
        let group = delivered.get(key);
        if (!group) {
          delivered.set(key, (group = { claim: claimed.claim, statusCode: result.statusCode, at, ids: [] }));
          groupsPerClaim.set(claimed.claim, (groupsPerClaim.get(claimed.claim) ?? 0) + 1);
        }
        group.ids.push(claimed.job._id);
        continue;
      }
      const release = { lease_owner: null, lease_expires_at: null };
      const filter = { _id: claimed.job._id, lease_owner: claimed.claim, status: "IN_PROGRESS" as const };
      if (result.status === "DEFERRED") {
        ops.push({
          updateOne: {
            filter,
            update: { $set: { ...release, status: "RETRY", scheduled_at: result.scheduledAt } },
          },
        });
        continue;
      }
      const set = {
        ...release,
        status: result.status,
        last_attempt_at: at,
        last_status_code: result.statusCode ?? null,
        last_error: result.error,
        ...(result.status === "RETRY" ? { scheduled_at: result.scheduledAt } : {}),
      };
      ops.push({ updateOne: { filter, update: { $set: set, $inc: { attempts: 1 } } } });
    }
    // Whole claims delivered with one status code share a single update keyed on their tokens.
    const whole = new Map<number, { claims: string[]; at: Date }>();
    const deliveredSet = (statusCode: number, at: Date) => ({
      $set: {
        status: "DELIVERED" as const,
        lease_owner: null,
        lease_expires_at: null,
        last_attempt_at: at,
        last_status_code: statusCode,
        last_error: null,
      },
      $inc: { attempts: 1 },
    });
    for (const group of delivered.values()) {
      if (complete.has(group.claim) && groupsPerClaim.get(group.claim) === 1) {
        const same = whole.get(group.statusCode);
        if (same) same.claims.push(group.claim);
        else whole.set(group.statusCode, { claims: [group.claim], at: group.at });
        continue;
      }
      ops.push({
        updateMany: {
          filter: { status: "IN_PROGRESS", lease_owner: group.claim, _id: { $in: group.ids } },
          update: deliveredSet(group.statusCode, group.at),
        },
      });
    }
    for (const [statusCode, { claims, at }] of whole) {
      ops.push({
        updateMany: {
          // The cheapest test first: servers that scan (the test stand-in) test fields in this order.
          filter: {
            status: "IN_PROGRESS",
            lease_owner: claims.length === 1 ? claims[0] : { $in: claims },
          },
          update: deliveredSet(statusCode, at),
        },
      });
    }
    const written = await this.c.jobs.bulkWrite(ops, { ordered: true });
    return written.modifiedCount;
  }

  async list(query: JobQuery = {}): Promise<DispatchJob[]> {
    const filter: Record<string, unknown> = {};
    if (query.status !== undefined) filter.status = checkStatus(query.status);
    if (query.subscriptionId !== undefined) filter.subscription_id = { $in: idForms(query.subscriptionId) };
    if (query.eventId !== undefined) filter.event_id = { $in: idForms(query.eventId) };
    if (query.clientId !== undefined) filter.client_id = query.clientId;
    const limit = query.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new JobOperationError(
        errorMessage("INVALID_JOB_QUERY", {
          field: "limit",
          expected: "an integer from 1 to 1000",
          got: limit,
        }),
        "INVALID_JOB_QUERY",
      );
    }
    return this.c.jobs
      .find(filter as Filter<DispatchJob>, { sort: { created_at: -1, _id: -1 }, limit })
      .toArray();
  }

  /** How many jobs are in each status (every status present, 0 when none). */
  async countByStatus(): Promise<Record<JobStatus, number>> {
    const counts = Object.fromEntries(JOB_STATUSES.map((status) => [status, 0])) as Record<JobStatus, number>;
    const groups = await this.c.jobs
      .aggregate<{ _id: JobStatus; n: number }>([{ $group: { _id: "$status", n: { $sum: 1 } } }])
      .toArray();
    for (const { _id, n } of groups) if (_id in counts) counts[_id] = n;
    return counts;
  }

  /** Schedules a FAILED, CANCELLED or waiting (PENDING/RETRY) job for delivery now, with a fresh attempt budget. */
  async retry(id: string): Promise<DispatchJob> {
    return this.transition(id, ["FAILED", "CANCELLED", "RETRY", "PENDING"], {
      status: "PENDING",
      scheduled_at: this.now(),
      attempts: 0,
    });
  }

  /** Cancels a job that is not finished; a delivery in flight is not interrupted but its result is discarded. */
  async cancel(id: string): Promise<DispatchJob> {
    return this.transition(id, ["PENDING", "RETRY", "IN_PROGRESS"], {
      status: "CANCELLED",
      lease_owner: null,
      lease_expires_at: null,
    });
  }

  private async transition(
    id: string,
    from: readonly JobStatus[],
    set: Partial<DispatchJob>,
  ): Promise<DispatchJob> {
    const updated = await this.c.jobs.findOneAndUpdate(
      { _id: id, status: { $in: [...from] } },
      { $set: set },
      { returnDocument: "after" },
    );
    if (updated) return updated;
    const existing = await this.c.jobs.findOne({ _id: id });
    if (!existing)
      throw new JobOperationError(errorMessage("JOB_NOT_FOUND", { id: String(id) }), "JOB_NOT_FOUND");
    throw new JobOperationError(
      errorMessage("JOB_STATE_CONFLICT", {
        id: String(id),
        status: existing.status,
        allowed: from.join(", "),
      }),
      "JOB_STATE_CONFLICT",
    );
  }
}

function checkStatus(status: string): JobStatus {
  const upper = status.toUpperCase();
  if (!(JOB_STATUSES as readonly string[]).includes(upper)) {
    throw new JobOperationError(
      errorMessage("INVALID_JOB_QUERY", {
        field: "status",
        expected: `one of ${JOB_STATUSES.join(", ")}`,
        got: status,
      }),
      "INVALID_JOB_QUERY",
    );
  }
  return upper as JobStatus;
}

/** An id given on the command line may be an ObjectId's hex or a string id. */
function idForms(id: string): DocId[] {
  return ObjectId.isValid(id) && /^[0-9a-f]{24}$/i.test(id) ? [new ObjectId(id), id] : [id];
}

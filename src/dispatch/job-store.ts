/**
 * Dispatch jobs in MongoDB: idempotent creation (every job starts PENDING), claiming jobs under a lease,
 * recording attempt results (only while the lease is still ours), and the operators' list / retry / cancel.
 *
 * Claims and results are compare-and-set updates of single jobs (one `updateOne` per job, all of a claim or
 * a result batch in one bulk write), each on the job's state key `{_id, status, lease_owner, scheduled_at}`:
 * it applies only if the job is still in the state the dispatcher saw — still due as found, or still under its
 * claim — and each is atomic per document, so two dispatchers never hold the same job, without any lock
 * between them. The key has a unique index (collections.ts): a lookup on every server, including the test
 * stand-in, which uses an index only for a query on exactly its fields and scans the collection otherwise.
 */
import { randomUUID } from "node:crypto";
import { MongoBulkWriteError, ObjectId, type AnyBulkWriteOperation, type Filter } from "mongodb";
import { errorMessage } from "../errors/codes.ts";
import type { DispatchCollections } from "./collections.ts";
import { JOB_STATUSES, type DispatchJob, type DocId, type JobStatus } from "./types.ts";

const DUPLICATE_KEY = 11000;

export interface NewJob {
  readonly event_id: DocId;
  readonly subscription_id: DocId;
  readonly client_id: string;
  readonly target: string;
  readonly pool_code: string;
}

/**
 * Jobs `create` inserts already claimed (the opt-in hand-over to a co-located dispatcher): index into the
 * jobs given to `create` → the claim token it is created under, and when that lease ends.
 */
export interface HandOver {
  readonly taken: ReadonlyMap<number, string>;
  readonly expiresAt: Date;
}

/** A claimed job and the claim token that must accompany its result. */
export interface Claimed {
  readonly job: DispatchJob;
  readonly claim: string;
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
   * Inserts the jobs, PENDING — or, those a `handOver` takes, IN_PROGRESS under its claim (the insert is the
   * claim). Those already there (a replay) are skipped. Returns the ones actually created.
   */
  async create(jobs: readonly NewJob[], handOver?: HandOver): Promise<DispatchJob[]> {
    if (jobs.length === 0) return [];
    const now = this.now();
    const docs: DispatchJob[] = jobs.map((j, i) => {
      const claim = handOver?.taken.get(i);
      return {
        _id: new ObjectId().toHexString(),
        ...j,
        status: claim === undefined ? "PENDING" : "IN_PROGRESS",
        scheduled_at: now,
        attempts: 0,
        last_attempt_at: null,
        last_error: null,
        created_at: now,
        lease_owner: claim ?? null,
        lease_expires_at: claim === undefined ? null : (handOver as HandOver).expiresAt,
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
   * One `find` of the due jobs (all a poll costs when nothing is due), then `take`.
   */
  async claim(
    owner: string,
    limit: number,
    leaseMs: number,
    excludePools: readonly string[] = [],
  ): Promise<Claimed[]> {
    if (limit <= 0) return [];
    const candidates = await this.c.jobs
      .find(this.due(this.now(), excludePools), { limit, sort: { scheduled_at: 1 } })
      .toArray();
    return this.take(owner, candidates, leaseMs);
  }

  /**
   * Claims those of `candidates` (due jobs as read) that have not changed since, under one fresh claim token.
   * Unchanged means as due as when read: a reschedule changes `scheduled_at`, a claim the status and owner.
   * When it took them all, the candidates are the jobs claimed (patched locally, no read); only when another
   * dispatcher or an operator got in between are the claimed ones read back by the token.
   */
  async take(owner: string, candidates: readonly DispatchJob[], leaseMs: number): Promise<Claimed[]> {
    if (candidates.length === 0) return [];
    const now = this.now();
    const claim = `${owner}/${randomUUID()}`;
    const lease = {
      status: "IN_PROGRESS" as const,
      lease_owner: claim,
      lease_expires_at: new Date(now.getTime() + leaseMs),
    };
    const written = await this.c.jobs.bulkWrite(
      candidates.map((job) => ({ updateOne: { filter: stateKey(job), update: { $set: lease } } })),
      { ordered: false },
    );
    const jobs =
      written.modifiedCount === candidates.length
        ? candidates.map((job) => ({ ...job, ...lease }))
        : await this.c.jobs.find({ lease_owner: claim, status: "IN_PROGRESS" }).toArray();
    return jobs.map((job) => ({ job, claim }));
  }

  /** Due jobs; each status its own equality branch (servers that scan, like the test stand-in, test those fastest). */
  private due(now: Date, excludePools: readonly string[]): Filter<DispatchJob> {
    return {
      $or: [
        { status: "PENDING", scheduled_at: { $lte: now } },
        { status: "RETRY", scheduled_at: { $lte: now } },
        { status: "IN_PROGRESS", lease_expires_at: { $lte: now } },
      ],
      ...(excludePools.length > 0 ? { pool_code: { $nin: [...excludePools] } } : {}),
    };
  }

  /**
   * Records attempt results in one bulk write, one `updateOne` per job on its state key under the claim: a
   * result whose claim is no longer the job's (lease expired and taken, or the job cancelled meanwhile)
   * changes nothing. Returns how many were recorded.
   */
  async record(results: readonly Outcome[]): Promise<number> {
    if (results.length === 0) return 0;
    const ops: AnyBulkWriteOperation<DispatchJob>[] = results.map(({ claimed, result, at }) => {
      const filter = stateKey({ ...claimed.job, status: "IN_PROGRESS", lease_owner: claimed.claim });
      const release = { lease_owner: null, lease_expires_at: null };
      if (result.status === "DEFERRED") {
        return {
          updateOne: {
            filter,
            update: { $set: { ...release, status: "RETRY", scheduled_at: result.scheduledAt } },
          },
        };
      }
      const set = {
        ...release,
        status: result.status,
        last_attempt_at: at,
        last_status_code: result.statusCode ?? null,
        last_error: result.status === "DELIVERED" ? null : result.error,
        ...(result.status === "RETRY" ? { scheduled_at: result.scheduledAt } : {}),
      };
      return { updateOne: { filter, update: { $set: set, $inc: { attempts: 1 } } } };
    });
    const written = await this.c.jobs.bulkWrite(ops, { ordered: false });
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

/** The job's state key (exactly the fields of the `job_state` index, see the head of this file). */
function stateKey(
  job: Pick<DispatchJob, "_id" | "status" | "lease_owner" | "scheduled_at">,
): Filter<DispatchJob> {
  return {
    _id: job._id,
    status: job.status,
    lease_owner: job.lease_owner ?? null,
    scheduled_at: job.scheduled_at,
  };
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

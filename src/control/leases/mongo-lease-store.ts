import type { Collection, MongoClient } from "mongodb";
import type { Lease, LeaseStore } from "./lease.ts";

interface LeaseRecord {
  _id: string;
  /** Empty after a release. */
  owner: string;
  token: number;
  expiresAt: number;
}

/** Whether a MongoDB write failed on a duplicate `_id` (an insert, or an upsert whose filter did not match). */
export function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown }).code === 11000;
}

/**
 * Leases in a MongoDB collection, one document per resource. Every change is a single-document
 * conditional update, so two instances racing for an expired lease cannot both win. Expiry uses the
 * instances' clocks: keep them in sync (NTP) and the TTL well above the expected skew.
 */
export class MongoLeaseStore implements LeaseStore {
  private readonly leases: Collection<LeaseRecord>;
  private readonly now: () => number;

  constructor(client: MongoClient, options: { db: string; collection?: string; now?: () => number }) {
    this.leases = client.db(options.db).collection<LeaseRecord>(options.collection ?? "leases");
    this.now = options.now ?? Date.now;
  }

  async tryAcquire(resource: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    const now = this.now();
    const expiresAt = now + ttlMs;
    const ours = await this.leases.findOneAndUpdate(
      { _id: resource, owner },
      { $set: { expiresAt } },
      { returnDocument: "after" },
    );
    if (ours) return toLease(ours);
    const taken = await this.leases.findOneAndUpdate(
      { _id: resource, expiresAt: { $lte: now } },
      { $set: { owner, expiresAt }, $inc: { token: 1 } },
      { returnDocument: "after" },
    );
    if (taken) return toLease(taken);
    try {
      const record = { _id: resource, owner, token: 1, expiresAt };
      await this.leases.insertOne(record);
      return toLease(record);
    } catch (error) {
      if (isDuplicateKey(error)) return undefined;
      throw error;
    }
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    const renewed = await this.leases.findOneAndUpdate(
      { _id: lease.resource, owner: lease.owner, token: lease.token },
      { $set: { expiresAt: this.now() + ttlMs } },
      { returnDocument: "after" },
    );
    return renewed ? toLease(renewed) : undefined;
  }

  async release(lease: Lease): Promise<void> {
    await this.leases.updateOne(
      { _id: lease.resource, owner: lease.owner, token: lease.token },
      { $set: { owner: "", expiresAt: 0 } },
    );
  }

  async holder(resource: string): Promise<Lease | undefined> {
    const record = await this.leases.findOne({ _id: resource });
    return record && record.owner !== "" ? toLease(record) : undefined;
  }

  async close(): Promise<void> {
    // The client belongs to the caller.
  }
}

function toLease(record: LeaseRecord): Lease {
  return {
    resource: record._id,
    owner: record.owner,
    token: record.token,
    expiresAt: record.expiresAt,
  };
}

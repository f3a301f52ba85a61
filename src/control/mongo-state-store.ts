/**
 * The state store in MongoDB (`EDDY_STATE_URI=mongodb://…`): one MongoDB collection per state collection,
 * one document per record `{_id, record, updatedAt}`. `record` holds the value as canonical Extended JSON
 * text (the same codec as the file store): pipelines carry `$`-prefixed keys that MongoDB < 5.0 refuses to
 * store as field names, and the text keeps Long/Decimal128/-0/NaN exact. Binary records are
 * `{_id, bytes: BinData, updatedAt}`. Each put is one single-document replace, so readers see the old or
 * the new record, never a mix. A fenced record (checkpoints under a lease) also keeps its fencing token in
 * `fence`, which a fenced write compares in its filter: check and write are one single-document update.
 * A raised record (`raiseFields`) keeps its figures as numbers in `raised` (one `$max` each, so concurrent
 * raises are one update each and none undoes another) and its `set` fields as Extended JSON text each in
 * `set`; reading lays both over `record` (what a `put` wrote, if any), each figure at the higher of the two.
 */
import { Binary, MongoClient, type Collection } from "mongodb";
import type { LeaseStore } from "./leases/lease.ts";
import { isDuplicateKey, MongoLeaseStore } from "./leases/mongo-lease-store.ts";
import { decodeRecord, encodeRecord } from "./record-codec.ts";
import {
  checkRaise,
  raisedRecord,
  type FencedWrites,
  type RaisedFields,
  type StateStore,
} from "./state-store.ts";

interface StoredRecord {
  _id: string;
  /** Absent from a record that was only claimed (a fence without a value yet). */
  record?: string;
  updatedAt?: Date;
  fence?: number;
  /** A raised record's figures (`raiseFields`). */
  raised?: Record<string, number>;
  /** A raised record's `set` fields, each as Extended JSON text. */
  set?: Record<string, string>;
}

/** A record `put` wrote, a raised one, or both; a claim alone (only a fence) is none. */
const IS_RECORD = {
  $or: [{ record: { $exists: true } }, { raised: { $exists: true } }, { set: { $exists: true } }],
};

interface StoredBytes {
  _id: string;
  bytes: Binary;
  updatedAt: Date;
}

export interface MongoStateStoreOptions {
  /** Database holding the state; default: the URI's database, else `eddy`. */
  readonly db?: string;
  /** Prefix of the collection names; default `state.`. */
  readonly prefix?: string;
}

export class MongoStateStore implements StateStore {
  private readonly client: MongoClient;
  private readonly ownsClient: boolean;
  private readonly dbName: string;
  private readonly prefix: string;

  constructor(client: MongoClient, options: MongoStateStoreOptions & { ownsClient?: boolean } = {}) {
    this.client = client;
    this.ownsClient = options.ownsClient ?? false;
    this.dbName = options.db ?? "eddy";
    this.prefix = options.prefix ?? "state.";
  }

  /** Connects to `uri` (the store closes the client on close). */
  static async connect(uri: string, options: MongoStateStoreOptions = {}): Promise<MongoStateStore> {
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000, appName: "eddy-state" });
    await client.connect();
    const db = options.db ?? (databaseInUri(uri) || "eddy");
    return new MongoStateStore(client, { ...options, db, ownsClient: true });
  }

  async get<T>(collection: string, id: string): Promise<T | undefined> {
    const doc = await this.collection(collection).findOne({ _id: id });
    return doc ? (valueOf(doc) as T | undefined) : undefined;
  }

  async put(collection: string, id: string, value: unknown): Promise<void> {
    await this.collection(collection).replaceOne(
      { _id: id },
      { record: encodeRecord(value), updatedAt: new Date() },
      { upsert: true },
    );
  }

  async putBytes(collection: string, id: string, bytes: Uint8Array): Promise<void> {
    await this.collection<StoredBytes>(collection).replaceOne(
      { _id: id },
      { bytes: new Binary(bytes), updatedAt: new Date() },
      { upsert: true },
    );
  }

  async getBytes(collection: string, id: string): Promise<Uint8Array | undefined> {
    const doc = await this.collection<StoredBytes>(collection).findOne({ _id: id });
    return doc ? doc.bytes.value() : undefined;
  }

  async delete(collection: string, id: string): Promise<boolean> {
    const result = await this.collection(collection).deleteOne({ _id: id });
    return result.deletedCount > 0;
  }

  async list<T>(collection: string): Promise<Array<{ id: string; value: T }>> {
    const docs = await this.collection(collection).find(IS_RECORD).sort({ _id: 1 }).toArray();
    return docs.map((doc) => ({ id: doc._id, value: valueOf(doc) as T }));
  }

  async raiseFields(
    collection: string,
    id: string,
    fields: RaisedFields,
    set: Readonly<Record<string, unknown>> = {},
  ): Promise<void> {
    checkRaise(fields, set);
    const raise: Record<string, number> = {};
    for (const [field, figure] of Object.entries(fields)) raise[`raised.${field}`] = figure;
    const replace: Record<string, unknown> = { updatedAt: new Date() };
    for (const [field, value] of Object.entries(set)) replace[`set.${field}`] = encodeRecord(value);
    await this.collection(collection).updateOne(
      { _id: id },
      { ...(Object.keys(raise).length > 0 ? { $max: raise } : {}), $set: replace },
      { upsert: true },
    );
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }

  leases(): LeaseStore {
    return new MongoLeaseStore(this.client, { db: this.dbName, collection: `${this.prefix}leases` });
  }

  fenced(): FencedWrites {
    return {
      claim: async (collection, id, token) => {
        const doc = await this.collection(collection).findOneAndUpdate(
          { _id: id },
          { $max: { fence: token } },
          { upsert: true, returnDocument: "after" },
        );
        return (doc?.fence ?? 0) <= token;
      },
      put: async (collection, id, value, token) => {
        try {
          // A record holding a higher token does not match, so the upsert tries to insert its _id and fails.
          await this.collection(collection).updateOne(
            { _id: id, fence: { $not: { $gt: token } } },
            // Replaced whole, as by `put`: a raised record's figures go too.
            {
              $set: { record: encodeRecord(value), updatedAt: new Date(), fence: token },
              $unset: { raised: "", set: "" },
            },
            { upsert: true },
          );
          return true;
        } catch (error) {
          if (isDuplicateKey(error)) return false;
          throw error;
        }
      },
    };
  }

  private collection<T extends { _id: string } = StoredRecord>(name: string): Collection<T> {
    return this.client.db(this.dbName).collection<T>(this.prefix + name);
  }
}

/** The record a document holds (see the header), or undefined for a claim alone. */
function valueOf(doc: StoredRecord): unknown {
  const base = doc.record !== undefined ? decodeRecord(doc.record) : undefined;
  if (doc.raised === undefined && doc.set === undefined) return base;
  const set: Record<string, unknown> = {};
  for (const [field, text] of Object.entries(doc.set ?? {})) set[field] = decodeRecord(text);
  return raisedRecord(base, doc.raised ?? {}, set);
}

/** The database named in a MongoDB URI's path (`mongodb://host/db?…`), or "". */
export function databaseInUri(uri: string): string {
  const match = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]*)/.exec(uri);
  return match ? decodeURIComponent(match[1]) : "";
}

/** The dead letter queue as ASP configures it: `options.dlq {connectionName, db, coll}`, a MongoDB collection. */
import type { MongoClient } from "mongodb";
import type { Doc } from "../../mql/index.ts";
import type { DlqWriter } from "../../runtime/dlq.ts";
import { withRetries } from "../retry.ts";
import { isTransientMongoError, mongoFailure } from "./errors.ts";

export class MongoDlqWriter implements DlqWriter {
  private readonly client: MongoClient;
  private readonly db: string;
  private readonly coll: string;

  constructor(client: MongoClient, target: { readonly db: string; readonly coll: string }) {
    this.client = client;
    this.db = target.db;
    this.coll = target.coll;
  }

  /**
   * Inserts the records in order; `_id` is left to the server, as ASP does. Transient failures are retried
   * (a retry after a partial insert may store some records twice: DLQ writes are best-effort, as in ASP).
   */
  async write(records: readonly Doc[]): Promise<void> {
    if (records.length === 0) return;
    const coll = this.client.db(this.db).collection(this.coll);
    try {
      await withRetries(
        () =>
          coll.insertMany(
            records.map((record) => ({ ...record })),
            { ordered: true, forceServerObjectId: true },
          ),
        isTransientMongoError,
      );
    } catch (error) {
      throw mongoFailure(error, `writing the dead letter queue ${this.db}.${this.coll} failed`);
    }
  }

  async close(): Promise<void> {}
}

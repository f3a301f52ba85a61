/** The dead letter queue as ASP configures it: `options.dlq {connectionName, db, coll}`, a MongoDB collection. */
import type { MongoClient } from "mongodb";
import type { Doc } from "../../mql/index.ts";
import type { DlqWriter } from "../../runtime/dlq.ts";

export class MongoDlqWriter implements DlqWriter {
  private readonly client: MongoClient;
  private readonly db: string;
  private readonly coll: string;

  constructor(client: MongoClient, target: { readonly db: string; readonly coll: string }) {
    this.client = client;
    this.db = target.db;
    this.coll = target.coll;
  }

  /** Inserts the records in order; `_id` is left to the server, as ASP does. */
  async write(records: readonly Doc[]): Promise<void> {
    if (records.length === 0) return;
    await this.client
      .db(this.db)
      .collection(this.coll)
      .insertMany(
        records.map((record) => ({ ...record })),
        { ordered: true, forceServerObjectId: true },
      );
  }

  async close(): Promise<void> {}
}

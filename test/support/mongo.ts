// A MongoDB client and a database of its own for one test suite, on the test MongoDB server.
import { MongoClient } from "mongodb";
import { afterAll, beforeAll } from "vitest";
import { testServices, uniqueName } from "./services.ts";

export interface MongoTestDatabase {
  /** The connected client; available from the suite's beforeAll hooks on. */
  readonly client: MongoClient;
  /** The suite's database name, unique to this run. */
  readonly db: string;
}

/**
 * Registers beforeAll/afterAll hooks in the calling suite that connect a client to the test MongoDB
 * server and, afterwards, drop the database `db` (named after `prefix`) and close the client.
 */
export function useMongoDatabase(prefix: string): MongoTestDatabase {
  const db = uniqueName(prefix);
  let client: MongoClient | undefined;

  beforeAll(async () => {
    client = new MongoClient(testServices().mongodbUri, { serverSelectionTimeoutMS: 10_000 });
    await client.connect();
  });

  afterAll(async () => {
    if (client === undefined) return;
    await client.db(db).dropDatabase();
    await client.close();
  });

  return {
    db,
    get client(): MongoClient {
      if (client === undefined)
        throw new Error("the MongoDB test client is not connected yet (use it in a hook or test)");
      return client;
    },
  };
}

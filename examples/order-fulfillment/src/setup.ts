// The demo's databases and collections (create_db_collections.py), made afresh: every database the demo
// uses is dropped first, so each run starts empty. Where the server refuses a feature the demo asks for
// (the MongoDB stand-in has no capped collections and no pre/post images), the set-up goes on without it
// and says so in its notes.
import type { Db, MongoClient } from "mongodb";
import { HISTORY_DB, SERVICE_DB } from "./order-service.ts";

export const CART_DB = "shoppingcartdb";
export const INCOMING_EVENTS = "incoming_shopping_cart_events";
export const DLQ = { db: "dlqDb", coll: "dlqColl" } as const;

const COLLECTIONS: Readonly<Record<string, readonly string[]>> = {
  [CART_DB]: ["shoppingcart"],
  orderdb: ["orders", "fulfilled_orders", "invalid_orders"],
  shipmentdb: ["delayed_orders", "shipped_orders"],
};
const DEMO_DBS = [...Object.keys(COLLECTIONS), HISTORY_DB, SERVICE_DB, DLQ.db];
const CAPPED_SIZE = 1_000_000;

export interface SetupReport {
  /** False when the server refused a capped collection and a plain one was made instead. */
  readonly capped: boolean;
  /** False when the server refused changeStreamPreAndPostImages. */
  readonly prePostImages: boolean;
  readonly notes: readonly string[];
}

/** `fresh`: the server was just started for the demo, so there is nothing to drop. */
export async function setUpDatabases(
  client: MongoClient,
  options: { fresh?: boolean } = {},
): Promise<SetupReport> {
  if (!options.fresh) for (const name of DEMO_DBS) await client.db(name).dropDatabase();
  const notes: string[] = [];
  let prePostImages = true;
  const create = async (db: Db, name: string, options: Record<string, unknown> = {}): Promise<void> => {
    await db.createCollection(name, options);
    if (!prePostImages) return;
    try {
      await db.command({ collMod: name, changeStreamPreAndPostImages: { enabled: true } });
    } catch (error) {
      if (prePostImages) notes.push(`pre/post images not enabled: ${(error as Error).message}`);
      prePostImages = false;
    }
  };
  for (const [dbName, names] of Object.entries(COLLECTIONS)) {
    for (const name of names) await create(client.db(dbName), name);
  }
  let capped = true;
  const carts = client.db(CART_DB);
  try {
    await create(carts, INCOMING_EVENTS, { capped: true, size: CAPPED_SIZE });
  } catch (error) {
    capped = false;
    notes.push(`${CART_DB}.${INCOMING_EVENTS} is a plain collection: ${(error as Error).message}`);
    await create(carts, INCOMING_EVENTS);
  }
  await client.db(HISTORY_DB).createCollection("order_history");
  return { capped, prePostImages, notes };
}

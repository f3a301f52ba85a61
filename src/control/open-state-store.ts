/**
 * Picks the state store: MongoDB for a `mongodb://`/`mongodb+srv://` URI (the database from its path, default
 * `eddy`), Redis for `redis://`/`rediss://` (key prefix from `?prefix=`, default `eddy:`), else the embedded file
 * store under `<dataDir>/state`.
 */
import { join } from "node:path";
import type { RedisClientType } from "redis";
import { FileStateStore } from "./file-state-store.ts";
import { MongoStateStore } from "./mongo-state-store.ts";
import type { StateStore } from "./state-store.ts";

export interface StateStoreChoice {
  readonly dataDir: string;
  /** `EDDY_STATE_URI`; undefined or empty: the file store. */
  readonly stateUri?: string;
}

export class StateStoreConfigError extends Error {
  override readonly name = "StateStoreConfigError";
}

export async function openStateStore(choice: StateStoreChoice): Promise<StateStore> {
  const uri = choice.stateUri?.trim();
  if (!uri) return new FileStateStore(join(choice.dataDir, "state"));
  if (/^mongodb(\+srv)?:\/\//.test(uri)) return MongoStateStore.connect(uri);
  if (/^rediss?:\/\//.test(uri)) {
    const [{ createClient }, { RedisStateStore }] = await Promise.all([
      import("redis"),
      import("./redis-state-store.ts"),
    ]);
    // `?prefix=…` (Eddy's own parameter) namespaces the keys, so several deployments can share one Redis.
    const url = new URL(uri);
    const prefix = url.searchParams.get("prefix") ?? undefined;
    url.searchParams.delete("prefix");
    const client = createClient({ url: url.toString() });
    await client.connect();
    return new RedisStateStore(client as unknown as RedisClientType, { ownsClient: true, prefix });
  }
  throw new StateStoreConfigError(
    `unsupported state store URI scheme in '${uri.replace(/\/\/[^@/]*@/, "//***@")}': ` +
      "use mongodb://…, mongodb+srv://…, redis://… or leave EDDY_STATE_URI unset for the file store",
  );
}

/** A human-readable description of the store in use, without credentials (for logs and `/ready`). */
export function describeStateStore(choice: StateStoreChoice): string {
  const uri = choice.stateUri?.trim();
  if (!uri) return `file:${join(choice.dataDir, "state")}`;
  return uri.replace(/\/\/[^@/]*@/, "//***@");
}

/**
 * The snapshot half of `$source.initialSync` (docs/asp-semantics.md §1.3): every existing document of the
 * watched collections, in `_id` order, as a synthetic `insert` change event, through the source's
 * change-stream `config.pipeline` (run by the server, so a trigger's `$match`/`$project` applies to the copy
 * as it does to the stream). The change stream itself is opened before the copy begins and read after it
 * ends (see {@link ChangeStreamSource}); this module only knows how to copy and where it got to.
 */
import type { AggregationCursor, Document, MongoClient } from "mongodb";
import type { Doc } from "../../mql/index.ts";

/** Where a copy got to, as a checkpoint stores it under `positions.initialSync`. */
export interface InitialSyncPosition {
  /** `snapshot` while copying; `done` once every collection was copied (one-shot: never copied again). */
  readonly phase: "snapshot" | "done";
  /** The collection being copied, and the `_id` of the last document handed over from it. */
  readonly db?: string;
  readonly coll?: string;
  readonly lastId?: unknown;
}

/** The `_id` a synthetic event carries: the copied document's `_id`, so a checkpoint knows where the copy is. */
const SNAPSHOT_ID_FIELD = "initialSync";
const SYSTEM_DATABASES = new Set(["admin", "local", "config"]);

export interface Namespace {
  readonly db: string;
  readonly coll: string;
}

/**
 * The collections a change stream scope covers, sorted, so a resumed copy walks them in the same order:
 * `coll` (one or several), every collection of `db`, or of every user database.
 */
export async function snapshotNamespaces(
  client: MongoClient,
  db: string | undefined,
  coll: string | readonly string[] | undefined,
): Promise<Namespace[]> {
  if (db !== undefined && coll !== undefined)
    return [...(Array.isArray(coll) ? coll : [coll])].sort().map((c: string) => ({ db, coll: c }));
  const databases =
    db !== undefined
      ? [db]
      : (await client.db("admin").admin().listDatabases({ nameOnly: true })).databases
          .map((d) => d.name)
          .filter((name) => !SYSTEM_DATABASES.has(name));
  const out: Namespace[] = [];
  for (const name of databases.sort()) {
    const collections = await client.db(name).listCollections({}, { nameOnly: true }).toArray();
    for (const c of collections.map((info) => info.name).sort()) {
      if (!c.startsWith("system.")) out.push({ db: name, coll: c });
    }
  }
  return out;
}

/** Copies the namespaces one after the other, resuming after `from` when a checkpoint says where it stopped. */
export class SnapshotReader {
  private readonly client: MongoClient;
  private readonly namespaces: readonly Namespace[];
  private readonly changeStreamPipeline: readonly Document[];
  private readonly batchSize: number;
  private index: number;
  private lastId: unknown;
  private cursor: AggregationCursor | undefined;

  constructor(
    client: MongoClient,
    namespaces: readonly Namespace[],
    changeStreamPipeline: readonly Document[],
    batchSize: number,
    from?: InitialSyncPosition,
  ) {
    this.client = client;
    this.namespaces = namespaces;
    this.changeStreamPipeline = changeStreamPipeline;
    this.batchSize = batchSize;
    const at = from?.phase === "snapshot" ? namespaces.findIndex((ns) => sameNs(ns, from)) : -1;
    this.index = at < 0 ? 0 : at;
    this.lastId = at < 0 ? undefined : from?.lastId;
  }

  /** The checkpoint position: the collection and last `_id` handed over, or `done`. */
  position(): InitialSyncPosition {
    const ns = this.namespaces[this.index];
    if (ns === undefined) return { phase: "done" };
    return { phase: "snapshot", ...ns, ...(this.lastId !== undefined ? { lastId: this.lastId } : {}) };
  }

  get done(): boolean {
    return this.index >= this.namespaces.length;
  }

  /** Up to `batchSize` synthetic insert events; an empty array once every collection was copied. */
  async next(): Promise<Document[]> {
    const events: Document[] = [];
    while (events.length < this.batchSize && !this.done) {
      const ns = this.namespaces[this.index];
      this.cursor ??= this.open(ns);
      const event = await this.cursor.tryNext();
      if (event === null) {
        await this.closeCursor();
        this.index++;
        this.lastId = undefined;
        continue;
      }
      const id = (event._id as Doc | undefined)?.[SNAPSHOT_ID_FIELD];
      if (id !== undefined) this.lastId = id;
      events.push(event);
      if (this.cursor.bufferedCount() === 0 && events.length > 0) break;
    }
    return events;
  }

  async close(): Promise<void> {
    await this.closeCursor();
  }

  private async closeCursor(): Promise<void> {
    const cursor = this.cursor;
    this.cursor = undefined;
    await cursor?.close().catch(() => undefined);
  }

  /**
   * `_id` order, after `lastId` when resuming. `$gt` compares within one BSON type, so a resumed copy of a
   * collection whose `_id`s mix types skips the other types (ASP too asks for ObjectId or integer `_id`s).
   */
  private open(ns: Namespace): AggregationCursor {
    const resume = this.lastId === undefined ? [] : [{ $match: { _id: { $gt: this.lastId } } }];
    const asEvent = {
      $replaceRoot: {
        newRoot: {
          _id: { [SNAPSHOT_ID_FIELD]: "$_id" },
          operationType: "insert",
          ns: { db: ns.db, coll: ns.coll },
          documentKey: { _id: "$_id" },
          fullDocument: "$$ROOT",
        },
      },
    };
    return this.client
      .db(ns.db)
      .collection(ns.coll)
      .aggregate([...resume, { $sort: { _id: 1 } }, asEvent, ...this.changeStreamPipeline], {
        batchSize: this.batchSize,
      });
  }
}

function sameNs(ns: Namespace, position: InitialSyncPosition): boolean {
  return ns.db === position.db && ns.coll === position.coll;
}

/** The `initialSync` part of a checkpoint's positions, if it is one this module wrote. */
export function initialSyncPosition(value: unknown): InitialSyncPosition | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const phase = (value as Doc).phase;
  return phase === "snapshot" || phase === "done" ? (value as InitialSyncPosition) : undefined;
}

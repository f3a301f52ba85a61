/**
 * The snapshot half of `$source.initialSync` (docs/asp-semantics.md §1.3): every existing document of the
 * watched collections, in `_id` order, as a synthetic `insert` change event, through the source's
 * change-stream `config.pipeline` (run by the server, so a trigger's `$match`/`$project` applies to the copy
 * as it does to the stream). The change stream itself is opened before the copy begins and read after it
 * ends (see {@link ChangeStreamSource}); this module only knows how to copy and where it got to.
 */
import type { AggregationCursor, Document, MongoClient } from "mongodb";
import type { Doc } from "../../mql/index.ts";

/**
 * Where a copy got to, as a checkpoint stores it under `positions.initialSync`. Collections are copied in
 * {@link snapshotNamespaces} order, up to `parallelism` at a time: `db`/`coll` is the first one not yet
 * copied completely (every one before it is) and `lastId` the `_id` of the last document handed over
 * from it; `started` lists the collections after it whose copy began, each with its `lastId` or `done`.
 * With `parallelism` 1 `started` never appears: one collection is copied at a time.
 */
export interface InitialSyncPosition {
  /** `snapshot` while copying; `done` once every collection was copied (one-shot: never copied again). */
  readonly phase: "snapshot" | "done";
  readonly db?: string;
  readonly coll?: string;
  readonly lastId?: unknown;
  readonly started?: readonly StartedCopy[];
}

/** A collection after the position's first one whose copy began: how far it got, or `done`. */
export interface StartedCopy {
  readonly db: string;
  readonly coll: string;
  readonly lastId?: unknown;
  readonly done?: true;
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

/** One collection's copy: pending until its cursor opens, then copying, then done. */
interface Copy {
  readonly ns: Namespace;
  state: "pending" | "copying" | "done";
  /** The `_id` of the last document handed over (resume after it). */
  lastId: unknown;
}

/** A collection being read: its cursor, and the batch being fetched (at most one, handed over on `next`). */
interface Lane {
  readonly copy: Copy;
  readonly cursor: AggregationCursor;
  fetching: Promise<Fetched> | undefined;
}

interface Fetched {
  readonly lane: Lane;
  readonly events: Document[];
  /** The cursor has nothing more: the collection is copied once `events` are handed over. */
  readonly exhausted: boolean;
}

/**
 * Copies the namespaces, up to `parallelism` at a time, resuming where a checkpoint says a copy stopped.
 * Each open collection has one batch in flight at most; `next` hands over the first batch to arrive, so
 * the server reads `parallelism` collections at once while the processor takes one batch at a time.
 */
export class SnapshotReader {
  private readonly client: MongoClient;
  private readonly changeStreamPipeline: readonly Document[];
  private readonly batchSize: number;
  private readonly parallelism: number;
  private readonly copies: Copy[];
  private lanes: Lane[] = [];
  /** Rotates which lane wins when several batches are ready, so no collection starves. */
  private turn = 0;

  constructor(
    client: MongoClient,
    namespaces: readonly Namespace[],
    changeStreamPipeline: readonly Document[],
    options: { readonly batchSize: number; readonly parallelism?: number },
    from?: InitialSyncPosition,
  ) {
    this.client = client;
    this.changeStreamPipeline = changeStreamPipeline;
    this.batchSize = options.batchSize;
    this.parallelism = Math.max(1, options.parallelism ?? 1);
    this.copies = resumedCopies(namespaces, from);
  }

  /** The checkpoint position: see {@link InitialSyncPosition}. */
  position(): InitialSyncPosition {
    const first = this.copies.findIndex((copy) => copy.state !== "done");
    if (first < 0) return { phase: "done" };
    const { ns, lastId } = this.copies[first];
    const started: StartedCopy[] = [];
    for (const copy of this.copies.slice(first + 1)) {
      if (copy.state === "done") started.push({ ...copy.ns, done: true });
      else if (copy.lastId !== undefined) started.push({ ...copy.ns, lastId: copy.lastId });
    }
    return {
      phase: "snapshot",
      ...ns,
      ...(lastId !== undefined ? { lastId } : {}),
      ...(started.length > 0 ? { started } : {}),
    };
  }

  get done(): boolean {
    return this.copies.every((copy) => copy.state === "done");
  }

  /**
   * Up to `batchSize` synthetic insert events, all from one collection; an empty array once every
   * collection was copied.
   */
  async next(): Promise<Document[]> {
    for (;;) {
      this.openLanes();
      if (this.lanes.length === 0) return [];
      for (const lane of this.lanes) lane.fetching ??= this.fetch(lane);
      const order = this.lanes.map((_, i) => this.lanes[(this.turn + i) % this.lanes.length]);
      this.turn++;
      const { lane, events, exhausted } = await Promise.race(
        order.map((l) => l.fetching as Promise<Fetched>),
      );
      lane.fetching = undefined;
      for (const event of events) {
        const id = (event._id as Doc | undefined)?.[SNAPSHOT_ID_FIELD];
        if (id !== undefined) lane.copy.lastId = id;
      }
      if (exhausted) {
        lane.copy.state = "done";
        this.lanes = this.lanes.filter((other) => other !== lane);
        await lane.cursor.close().catch(() => undefined);
      }
      if (events.length > 0) return events;
    }
  }

  async close(): Promise<void> {
    const lanes = this.lanes;
    this.lanes = [];
    await Promise.all(lanes.map((lane) => lane.cursor.close().catch(() => undefined)));
  }

  /** Opens the next pending collections until `parallelism` are being read. */
  private openLanes(): void {
    for (const copy of this.copies) {
      if (this.lanes.length >= this.parallelism) return;
      if (copy.state !== "pending") continue;
      copy.state = "copying";
      this.lanes.push({ copy, cursor: this.open(copy), fetching: undefined });
    }
  }

  /** The lane's next batch: up to `batchSize` events, stopping when the cursor's buffer runs dry. */
  private fetch(lane: Lane): Promise<Fetched> {
    const fetching = (async () => {
      const events: Document[] = [];
      while (events.length < this.batchSize) {
        const event = await lane.cursor.tryNext();
        if (event === null) return { lane, events, exhausted: true };
        events.push(event);
        if (lane.cursor.bufferedCount() === 0) break;
      }
      return { lane, events, exhausted: false };
    })();
    // A lane that loses the race may fail while no one awaits it: the failure surfaces at its next race.
    fetching.catch(() => undefined);
    return fetching;
  }

  /**
   * `_id` order, after `lastId` when resuming. `$gt` compares within one BSON type, so a resumed copy of a
   * collection whose `_id`s mix types skips the other types (ASP too asks for ObjectId or integer `_id`s).
   */
  private open({ ns, lastId }: Copy): AggregationCursor {
    const resume = lastId === undefined ? [] : [{ $match: { _id: { $gt: lastId } } }];
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

/**
 * Each namespace's copy as `from` left it: before its first collection done, the first resumed after its
 * `lastId`, the `started` ones done or resumed, the rest pending. A position naming a collection that no
 * longer exists starts the copy over.
 */
function resumedCopies(namespaces: readonly Namespace[], from: InitialSyncPosition | undefined): Copy[] {
  const at = from?.phase === "snapshot" ? namespaces.findIndex((ns) => sameNs(ns, from)) : -1;
  return namespaces.map((ns, index): Copy => {
    if (at < 0 || index > at) {
      const started = at < 0 ? undefined : from?.started?.find((copy) => sameNs(ns, copy));
      if (started?.done === true) return { ns, state: "done", lastId: undefined };
      return { ns, state: "pending", lastId: started?.lastId };
    }
    if (index < at) return { ns, state: "done", lastId: undefined };
    return { ns, state: "pending", lastId: from?.lastId };
  });
}

function sameNs(ns: Namespace, position: { readonly db?: string; readonly coll?: string }): boolean {
  return ns.db === position.db && ns.coll === position.coll;
}

/** The `initialSync` part of a checkpoint's positions, if it is one this module wrote. */
export function initialSyncPosition(value: unknown): InitialSyncPosition | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const phase = (value as Doc).phase;
  return phase === "snapshot" || phase === "done" ? (value as InitialSyncPosition) : undefined;
}

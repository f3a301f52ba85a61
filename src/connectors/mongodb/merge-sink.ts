/**
 * `$merge` into MongoDB collections (docs/asp-semantics.md §3.1). Documents are written in order per target namespace
 * through ordered bulk writes; a write error on one document fails only that document (it goes to the DLQ)
 * and the rest of the batch is written. Merging on `_id` into a stream of new documents (raw ingest),
 * the sink inserts first: one unordered `insertMany`, then the normal write for each document it did not
 * insert (already there: a replay or a re-sent record; or refused), so the outcome is the upserts' and
 * only what exists pays for them. Transient errors (a lost connection, a server restarting, "not
 * primary") are retried here with back-off, re-sending what was not confirmed (upserts are idempotent, so a
 * short blip is invisible); what still fails afterwards, or cannot heal (authentication, an invalid literal
 * namespace), is thrown as a {@link ConnectorError} and nothing of the batch is reported as written.
 */
import { ObjectId } from "bson";
import { MongoBulkWriteError, type AnyBulkWriteOperation, type MongoClient } from "mongodb";
import type { Doc, Vars } from "../../mql/index.ts";
import type { SinkPlan } from "../../pipeline/plan.ts";
import type { Sink, SinkResult, SinkWriteContext } from "../../runtime/sink.ts";
import { MergeModeError, resolveWhenMatched, resolveWhenNotMatched } from "./merge-modes.ts";
import { ConnectorError } from "../../runtime/errors.ts";
import { withRetries, type RetryPolicy } from "../retry.ts";
import { retryDocuments, type DocumentRetryPolicy } from "../document-retries.ts";
import { isTransientMongoError, mongoFailure } from "./errors.ts";
import { namespaceProblem } from "./namespace.ts";
import {
  bulkFailureIndex,
  isPerDocumentError,
  isRetryableDocumentError,
  writeErrorMessage,
} from "./write-errors.ts";
import { readPath, sinkResult } from "./write-results.ts";

export interface MergeSinkOptions {
  /** Retries of a write that failed transiently (default 6 attempts, about 11 s of back-off). */
  readonly retry?: RetryPolicy;
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Attempts of one document the server refused with a duplicate key or write conflict (default 3). */
  readonly documentRetries?: DocumentRetryPolicy;
}

export type MergeSinkPlan = Extract<SinkPlan, { kind: "merge" }>;

/** A document not written; `retry` is its write when a later attempt may succeed, with the refusal. */
type Failure = { index: number; message: string; attempts?: number; retry?: Write; error?: unknown };

/**
 * One document's write, either a bulk operation or a step that needs reads (pipeline, delete-or-insert).
 * `insert` is the document a plain insert stores when nothing matches, for upserts on `_id` alone.
 */
type Write =
  | { readonly index: number; readonly op: AnyBulkWriteOperation<Doc>; readonly insert?: Doc }
  | { readonly index: number; readonly run: (coll: CollectionLike) => Promise<void> };

type CollectionLike = ReturnType<ReturnType<MongoClient["db"]>["collection"]>;

const NO_VARS: Vars = Object.freeze({});

/**
 * Insert-first starts after a batch of at least this many documents whose upserts all inserted, and
 * stops at the first batch with a document that existed: an update-heavy stream never pays twice, and
 * change streams on the target see the upserts' events (test stand-ins log an insert event even for a
 * refused insert).
 */
const INSERT_FIRST_AFTER = 64;

export class MergeSink implements Sink {
  readonly operatorName = "MergeOperator";
  private readonly client: MongoClient;
  private readonly plan: MergeSinkPlan;
  private readonly on: readonly string[];
  private readonly options: MergeSinkOptions;
  /** Whether batches insert first (see {@link INSERT_FIRST_AFTER}). */
  private insertsFirst = false;

  constructor(client: MongoClient, plan: MergeSinkPlan, options: MergeSinkOptions = {}) {
    this.client = client;
    this.plan = plan;
    this.on = plan.on ?? ["_id"];
    this.options = options;
    checkLiteralNamespace(plan);
  }

  async write(docs: readonly Doc[], context?: SinkWriteContext): Promise<SinkResult> {
    const failures: Failure[] = [];
    const byNamespace = new Map<string, { db: string; coll: string; writes: Write[] }>();
    docs.forEach((doc, index) => {
      try {
        const vars = streamVars(doc);
        const [db, coll] = this.namespaceOf(doc, vars);
        const key = `${db}.${coll}`;
        let group = byNamespace.get(key);
        if (!group) byNamespace.set(key, (group = { db, coll, writes: [] }));
        const write = this.writeFor(doc, vars, index, context);
        if (write) group.writes.push(write);
      } catch (error) {
        failures.push({ index, message: (error as Error).message });
      }
    });
    for (const { db, coll, writes } of byNamespace.values()) {
      try {
        const collection = this.client.db(db).collection(coll);
        const pending = await this.insertFirst(collection, writes);
        const { failures: refused, upserted } = await this.execute(collection, pending);
        if (
          pending.length >= INSERT_FIRST_AFTER &&
          upserted === pending.length &&
          pending.every((w) => "insert" in w && w.insert !== undefined)
        )
          this.insertsFirst = true;
        failures.push(...refused.filter((f) => !f.retry));
        const again = refused.flatMap((f) =>
          f.retry ? [{ index: f.index, item: f.retry, error: f.error }] : [],
        );
        if (again.length > 0) failures.push(...(await this.writeAgain(collection, again)));
      } catch (error) {
        throw mongoFailure(error, `$merge to ${db}.${coll} failed`);
      }
    }
    return sinkResult(docs, failures);
  }

  async close(): Promise<void> {}

  /** Documents refused in a way a later attempt may not meet, written again alone (see document-retries.ts). */
  private writeAgain(
    coll: CollectionLike,
    refused: readonly { index: number; item: Write; error: unknown }[],
  ): Promise<Failure[]> {
    const writeOne = async (write: Write): Promise<void> => {
      if ("op" in write) await this.retrying(() => coll.bulkWrite([write.op], { ordered: true }));
      else await this.retrying(() => write.run(coll));
    };
    const isDocumentError = (error: unknown) =>
      bulkFailureIndex(error) !== undefined || isPerDocumentError(error);
    return retryDocuments(
      refused,
      writeOne,
      isDocumentError,
      writeErrorMessage,
      this.options.documentRetries,
    );
  }

  /** The last namespace that passed `namespaceProblem` (most batches write to one). */
  private checkedNamespace: readonly [string, string] | undefined;

  private namespaceOf(doc: Doc, vars: Vars): readonly [string, string] {
    let db: unknown;
    let coll: unknown;
    try {
      db = this.plan.db(doc, vars);
      coll = this.plan.coll(doc, vars);
    } catch (error) {
      throw new Error(
        `Failed to evaluate target namespace in MergeOperator with error: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const checked = this.checkedNamespace;
    if (checked !== undefined && checked[0] === db && checked[1] === coll) return checked;
    for (const [name, value] of [
      ["db", db],
      ["coll", coll],
    ] as const) {
      if (typeof value !== "string" || value === "") {
        throw new Error(
          `Failed to evaluate target namespace in MergeOperator with error: $merge.into.${name} must evaluate to a non-empty string, got ${JSON.stringify(value) ?? "missing"}`,
        );
      }
    }
    const problem = namespaceProblem(db as string, coll as string);
    if (problem !== undefined)
      throw new Error(`Failed to evaluate target namespace in MergeOperator with error: ${problem}`);
    this.checkedNamespace = [db as string, coll as string];
    return this.checkedNamespace;
  }

  /** The write for one document, or undefined when its modes say to do nothing. */
  private writeFor(
    doc: Doc,
    vars: Vars,
    index: number,
    context: SinkWriteContext | undefined,
  ): Write | undefined {
    let whenMatched;
    let whenNotMatched;
    try {
      whenMatched = resolveWhenMatched(this.plan.whenMatched ?? { kind: "mode", mode: "merge" }, doc, vars);
      whenNotMatched = resolveWhenNotMatched(
        this.plan.whenNotMatched ?? { kind: "mode", mode: "insert" },
        doc,
        vars,
      );
    } catch (error) {
      if (error instanceof MergeModeError) throw error;
      throw new Error(`Failed to evaluate merge mode with error: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const target = this.withId(doc, whenNotMatched, () => context?.idFor(index));
    const filter = this.filterFor(target);
    const upsert = whenNotMatched === "insert";
    const insert = upsert ? this.insertable(target) : undefined;
    if (whenMatched.kind === "pipeline") {
      const letVars = this.letVars(doc);
      const apply = whenMatched.apply;
      return {
        index,
        run: async (coll) => {
          const existing = await coll.findOne(filter);
          if (existing) await coll.replaceOne(filter, withOnFields(apply(existing as Doc, letVars), filter));
          else if (upsert) await coll.insertOne(target);
        },
      };
    }
    switch (whenMatched.mode) {
      case "merge": {
        const merge = (): AnyBulkWriteOperation<Doc> | undefined => {
          const set = withoutFields(target, this.on);
          if (Object.keys(set).length > 0) return { updateOne: { filter, update: { $set: set }, upsert } };
          return upsert ? { updateOne: { filter, update: { $setOnInsert: target }, upsert } } : undefined;
        };
        // Most documents are inserted: the copy without the `on` fields is made for those that are not.
        if (insert !== undefined) return lazyWrite(index, insert, merge as () => AnyBulkWriteOperation<Doc>);
        const op = merge();
        return op && { index, op };
      }
      case "replace":
        return { index, op: { replaceOne: { filter, replacement: target, upsert } }, insert };
      case "keepExisting":
        return upsert
          ? { index, op: { updateOne: { filter, update: { $setOnInsert: target }, upsert } }, insert }
          : undefined;
      case "delete":
        if (!upsert) return { index, op: { deleteOne: { filter } } };
        return {
          index,
          run: async (coll) => {
            const { deletedCount } = await coll.deleteOne(filter);
            if (deletedCount === 0) await coll.insertOne(target);
          },
        };
    }
  }

  /**
   * `$merge` on `_id` gives a document without one an ObjectId, as the server does — the runtime's
   * deterministic one when given, so that a replay after a crash overwrites instead of inserting again.
   */
  private withId(doc: Doc, whenNotMatched: "insert" | "discard", idFor: () => ObjectId | undefined): Doc {
    if (doc._id !== undefined || !this.on.includes("_id") || whenNotMatched !== "insert") return doc;
    return { _id: idFor() ?? new ObjectId(), ...doc };
  }

  /**
   * The document an insert stores when nothing matches, exactly what the upsert would create: only for
   * merges on `_id` alone, and not when a top-level field is undefined (upserts leave it out, an insert
   * stores null) or its name has a dot or a leading `$` (`$set` and `$setOnInsert` read it as a path).
   */
  private insertable(target: Doc): Doc | undefined {
    if (this.on.length !== 1 || this.on[0] !== "_id") return undefined;
    for (const key in target) {
      if (target[key] === undefined || key.includes(".") || key.startsWith("$")) return undefined;
    }
    return target;
  }

  /**
   * Inserts the documents of `writes` in one unordered `insertMany` when every write has its insert, and
   * returns the writes still to do: those whose document was not inserted (a duplicate `_id`, i.e. the
   * document exists and takes its normal write, or a refusal the normal write reports), all of them when
   * the outcome is unknown (upserts are idempotent). Only while `insertsFirst`; a batch with a document
   * that existed ends it.
   */
  private async insertFirst(coll: CollectionLike, writes: readonly Write[]): Promise<readonly Write[]> {
    if (!this.insertsFirst) return writes;
    const docs: Doc[] = [];
    for (const write of writes) {
      if (!("insert" in write) || write.insert === undefined) return writes;
      docs.push(write.insert);
    }
    if (docs.length === 0) return writes;
    let notInserted: ReadonlySet<number>;
    try {
      await this.retrying(() => coll.insertMany(docs, { ordered: false }));
      return [];
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError) || error.result.getWriteConcernError()) throw error;
      const errors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
      // Write errors come after every document was tried; none (a failure on the way) or too few
      // inserted leaves the outcome unknown. (The test stand-in counts refused documents as inserted.)
      if (errors.length === 0 || error.insertedCount + errors.length < docs.length) return writes;
      notInserted = new Set(errors.map((e) => e.index));
    }
    if (notInserted.size > 0) this.insertsFirst = false;
    return writes.filter((_, i) => notInserted.has(i));
  }

  private filterFor(doc: Doc): Doc {
    const filter: Doc = {};
    for (const field of this.on) {
      const value = readPath(doc, field);
      if (value === undefined || value === null || Array.isArray(value)) {
        throw new Error(
          `$merge write error: 'on' field '${field}' cannot be missing, null, undefined or an array`,
        );
      }
      filter[field] = value;
    }
    return filter;
  }

  private letVars(doc: Doc): Vars {
    const vars: Vars = {};
    for (const [name, evaluate] of this.plan.let ?? [["new", (root: Doc) => root]])
      vars[name] = evaluate(doc, NO_VARS);
    return vars;
  }

  /**
   * Runs writes in order: consecutive bulk operations go in one ordered bulk write, re-sent after a failure.
   * `upserted`: documents the bulk writes that went through whole inserted.
   */
  private async execute(
    coll: CollectionLike,
    writes: readonly Write[],
  ): Promise<{ failures: Failure[]; upserted: number }> {
    const failures: Failure[] = [];
    let upserted = 0;
    let pending: Array<{ index: number; op: AnyBulkWriteOperation<Doc> }> = [];
    const flush = async () => {
      while (pending.length > 0) {
        try {
          const ops = pending.map((w) => w.op);
          upserted += (await this.retrying(() => coll.bulkWrite(ops, { ordered: true }))).upsertedCount;
          pending = [];
        } catch (error) {
          const failedAt = bulkFailureIndex(error);
          if (failedAt === undefined) throw error;
          failures.push(refusal(pending[failedAt], error));
          pending = pending.slice(failedAt + 1);
        }
      }
    };
    for (const write of writes) {
      if ("op" in write) {
        pending.push(write);
        continue;
      }
      await flush();
      try {
        await this.retrying(() => write.run(coll));
      } catch (error) {
        if (!isPerDocumentError(error)) throw error;
        failures.push(refusal(write, error));
      }
    }
    await flush();
    return { failures, upserted };
  }

  /** Re-sends after transient errors; an ordered bulk write that broke off is re-sent whole (idempotent upserts). */
  private retrying<T>(task: () => Promise<T>): Promise<T> {
    return withRetries(task, isTransientMongoError, { ...this.options.retry, onRetry: this.options.onRetry });
  }
}

/** A bulk write whose operation is built only when the insert did not do (see `insertFirst`). */
function lazyWrite(index: number, insert: Doc, build: () => AnyBulkWriteOperation<Doc>): Write {
  let op: AnyBulkWriteOperation<Doc> | undefined;
  return {
    index,
    insert,
    get op() {
      return (op ??= build());
    },
  };
}

function refusal(write: Write, error: unknown): Failure {
  const failure = { index: write.index, message: writeErrorMessage(error) };
  return isRetryableDocumentError(error) ? { ...failure, retry: write, error } : failure;
}

/** A literal `into.db`/`into.coll` that MongoDB cannot accept fails the processor at start, not every document. */
function checkLiteralNamespace(plan: MergeSinkPlan): void {
  const into = (plan.options.into ?? {}) as Doc;
  const literal = (value: unknown) =>
    typeof value === "string" && !value.startsWith("$") ? value : undefined;
  const db = literal(into.db);
  const coll = literal(into.coll);
  const problem = namespaceProblem(db ?? "db", coll ?? "coll");
  if (problem !== undefined && (db !== undefined || coll !== undefined)) {
    throw new ConnectorError(`$merge.into: ${problem}; fix the target namespace`, { retryable: false });
  }
}

function streamVars(doc: Doc): Vars {
  return doc._stream_meta === undefined ? NO_VARS : { $stream: doc._stream_meta };
}

function withoutFields(doc: Doc, fields: readonly string[]): Doc {
  const out: Doc = {};
  for (const key of Object.keys(doc))
    if (!fields.includes(key) && doc[key] !== undefined) out[key] = doc[key];
  return out;
}

function withOnFields(doc: Doc, filter: Doc): Doc {
  return { ...doc, ...filter };
}

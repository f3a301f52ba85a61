/**
 * `$merge` into MongoDB collections (asp-compat §3.1). Documents are written in order per target namespace
 * through ordered bulk writes; a write error on one document fails only that document (it goes to the DLQ)
 * and the rest of the batch is written. Connection errors are thrown: the processor retries them.
 */
import { calculateObjectSize, ObjectId } from "bson";
import { MongoBulkWriteError, type AnyBulkWriteOperation, type MongoClient } from "mongodb";
import type { Doc, Vars } from "../../mql/index.ts";
import type { SinkPlan } from "../../pipeline/plan.ts";
import type { Sink, SinkResult } from "../../runtime/sink.ts";
import { MergeModeError, resolveWhenMatched, resolveWhenNotMatched } from "./merge-modes.ts";

export type MergeSinkPlan = Extract<SinkPlan, { kind: "merge" }>;

type Failure = { index: number; message: string };

/** One document's write, either a bulk operation or a step that needs reads (pipeline, delete-or-insert). */
type Write =
  | { readonly index: number; readonly op: AnyBulkWriteOperation<Doc> }
  | { readonly index: number; readonly run: (coll: CollectionLike) => Promise<void> };

type CollectionLike = ReturnType<ReturnType<MongoClient["db"]>["collection"]>;

const NO_VARS: Vars = Object.freeze({});

export class MergeSink implements Sink {
  readonly operatorName = "MergeOperator";
  private readonly client: MongoClient;
  private readonly plan: MergeSinkPlan;
  private readonly on: readonly string[];

  constructor(client: MongoClient, plan: MergeSinkPlan) {
    this.client = client;
    this.plan = plan;
    this.on = plan.on ?? ["_id"];
  }

  async write(docs: readonly Doc[]): Promise<SinkResult> {
    const failures: Failure[] = [];
    const byNamespace = new Map<string, { db: string; coll: string; writes: Write[] }>();
    let bytes = 0;
    docs.forEach((doc, index) => {
      try {
        const [db, coll] = this.namespaceOf(doc);
        const key = `${db}.${coll}`;
        let group = byNamespace.get(key);
        if (!group) byNamespace.set(key, (group = { db, coll, writes: [] }));
        const write = this.writeFor(doc, index);
        if (write) group.writes.push(write);
      } catch (error) {
        failures.push({ index, message: (error as Error).message });
      }
    });
    for (const { db, coll, writes } of byNamespace.values()) {
      failures.push(...(await this.execute(this.client.db(db).collection(coll), writes)));
    }
    const failed = new Set(failures.map((f) => f.index));
    docs.forEach((doc, i) => {
      if (!failed.has(i)) bytes += calculateObjectSize(doc);
    });
    failures.sort((a, b) => a.index - b.index);
    return failures.length > 0 ? { bytes, failures } : { bytes };
  }

  async close(): Promise<void> {}

  private namespaceOf(doc: Doc): [string, string] {
    const vars = streamVars(doc);
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
    return [db as string, coll as string];
  }

  /** The write for one document, or undefined when its modes say to do nothing. */
  private writeFor(doc: Doc, index: number): Write | undefined {
    const vars = streamVars(doc);
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
    const target = this.withId(doc, whenNotMatched);
    const filter = this.filterFor(target);
    const upsert = whenNotMatched === "insert";
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
        const set = withoutFields(target, this.on);
        if (Object.keys(set).length === 0) {
          return upsert
            ? { index, op: { updateOne: { filter, update: { $setOnInsert: target }, upsert } } }
            : undefined;
        }
        return { index, op: { updateOne: { filter, update: { $set: set }, upsert } } };
      }
      case "replace":
        return { index, op: { replaceOne: { filter, replacement: target, upsert } } };
      case "keepExisting":
        return upsert
          ? { index, op: { updateOne: { filter, update: { $setOnInsert: target }, upsert } } }
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

  /** `$merge` on `_id` gives a document without one a new ObjectId, as the server does. */
  private withId(doc: Doc, whenNotMatched: "insert" | "discard"): Doc {
    if (doc._id !== undefined || !this.on.includes("_id") || whenNotMatched !== "insert") return doc;
    return { _id: new ObjectId(), ...doc };
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

  /** Runs writes in order: consecutive bulk operations go in one ordered bulk write, re-sent after a failure. */
  private async execute(coll: CollectionLike, writes: readonly Write[]): Promise<Failure[]> {
    const failures: Failure[] = [];
    let pending: Array<{ index: number; op: AnyBulkWriteOperation<Doc> }> = [];
    const flush = async () => {
      while (pending.length > 0) {
        try {
          await coll.bulkWrite(
            pending.map((w) => w.op),
            { ordered: true },
          );
          pending = [];
        } catch (error) {
          const failedAt = bulkFailureIndex(error);
          if (failedAt === undefined) throw error;
          failures.push({ index: pending[failedAt].index, message: writeErrorMessage(error) });
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
        await write.run(coll);
      } catch (error) {
        if (!isPerDocumentError(error)) throw error;
        failures.push({ index: write.index, message: writeErrorMessage(error) });
      }
    }
    await flush();
    return failures;
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

function readPath(doc: Doc, path: string): unknown {
  let value: unknown = doc;
  for (const part of path.split(".")) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Doc)[part];
  }
  return value;
}

function bulkFailureIndex(error: unknown): number | undefined {
  if (!(error instanceof MongoBulkWriteError)) return undefined;
  const first = error.writeErrors;
  const list = Array.isArray(first) ? first : [first];
  return list.length > 0 ? list[0].index : undefined;
}

interface ServerErrorLike {
  code?: number;
  codeName?: string;
  errmsg?: string;
  message?: string;
  writeErrors?: unknown;
}

/** ASP's wording: `code = <CodeName>, reason = <server message>`. */
function writeErrorMessage(error: unknown): string {
  let e = error as ServerErrorLike;
  if (error instanceof MongoBulkWriteError) {
    const list = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    const first = list[0] as unknown as { code?: number; errmsg?: string };
    e = { code: first.code, errmsg: first.errmsg };
  }
  const name = e.codeName ?? CODE_NAMES[e.code ?? -1] ?? `Location${e.code ?? "Unknown"}`;
  return `code = ${name}, reason = ${e.errmsg ?? e.message ?? String(error)}`;
}

function isPerDocumentError(error: unknown): boolean {
  const code = (error as ServerErrorLike).code;
  return typeof code === "number" && PER_DOCUMENT_CODES.has(code);
}

const CODE_NAMES: Readonly<Record<number, string>> = {
  2: "BadValue",
  10: "BSONObjectTooLarge",
  11000: "DuplicateKey",
  121: "DocumentValidationFailure",
  66: "ImmutableField",
  9: "FailedToParse",
  14: "TypeMismatch",
  52: "DollarPrefixedFieldName",
  17419: "Location17419",
};

/** Server errors that concern one document, not the connection. */
const PER_DOCUMENT_CODES: ReadonlySet<number> = new Set([2, 9, 10, 14, 52, 66, 121, 11000, 17419, 17280]);

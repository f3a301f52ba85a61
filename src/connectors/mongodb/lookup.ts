/**
 * `$lookup` and `$cachedLookup` against a MongoDB collection (docs/asp-semantics.md §2.3, §2.4). The equality form
 * fetches the foreign documents of a whole batch with one query and hands each input document the ones that
 * match it under MongoDB's `$lookup` rules (evaluated by Eddy's own query compiler). The `let`/`pipeline`
 * form runs the pipeline on the server per document, with the `let` values bound as literals.
 */
import type { MongoClient } from "mongodb";
import { compileExpression, type Doc, type Evaluator, type Vars } from "../../mql/index.ts";
import { compileQuery } from "../../mql/query/compile.ts";
import { compileAddFields } from "../../mql/stages/add-fields.ts";
import { bindVariables } from "./bind-variables.ts";
import { LookupCache } from "./lookup-cache.ts";
import { withRetries } from "../retry.ts";
import { isTransientMongoError, mongoFailure } from "./errors.ts";

export interface LookupSpec {
  readonly from: { readonly db: string; readonly coll: string };
  readonly localField?: string;
  readonly foreignField?: string;
  readonly as: string;
  readonly let?: Readonly<Record<string, Evaluator>>;
  readonly pipeline?: readonly Doc[];
  /** `$cachedLookup`: results per local value are reused for `ttlMs`. */
  readonly cache?: { readonly ttlMs: number; readonly maxBytes: number };
}

const RESULTS_VAR = "lookupResults";

/**
 * Reads of the foreign collection: MongoDB's ({@link mongoForeign}), or fixed documents (`sp test` stubs,
 * src/testing). `find` takes an equality filter (`{field: {$in: [...]}}`); `aggregate` a pipeline whose
 * `let` variables are already bound as literals.
 */
export interface ForeignCollection {
  find(filter: Doc): Promise<Doc[]>;
  aggregate(stages: Doc[]): Promise<Doc[]>;
}

/** The foreign collections of a MongoDB deployment. */
export function mongoForeign(client: MongoClient): (db: string, coll: string) => ForeignCollection {
  return (db, coll) => {
    const collection = client.db(db).collection<Doc>(coll);
    return {
      find: (filter) => collection.find(filter).toArray(),
      aggregate: (stages) => collection.aggregate<Doc>(stages).toArray(),
    };
  };
}

export class Lookup {
  private readonly foreign: ForeignCollection;
  private readonly spec: LookupSpec;
  private readonly setResults: (doc: Doc, vars: Vars) => Doc;
  private readonly readLocal: Evaluator | undefined;
  private readonly cache: LookupCache | undefined;

  constructor(collections: (db: string, coll: string) => ForeignCollection, spec: LookupSpec, path: string) {
    this.foreign = collections(spec.from.db, spec.from.coll);
    this.spec = spec;
    this.setResults = compileAddFields({ [spec.as]: `$$${RESULTS_VAR}` }, { path, variables: [RESULTS_VAR] });
    this.readLocal = spec.localField === undefined ? undefined : compileExpression(`$${spec.localField}`);
    this.cache = spec.cache && new LookupCache(spec.cache.ttlMs, spec.cache.maxBytes);
  }

  /**
   * Adds the `as` field to every document of the batch, in order. A document whose `let` variables fail to
   * evaluate is reported to `onError` and comes back undefined; server errors are thrown.
   */
  async apply(
    docs: readonly Doc[],
    varsOf: (i: number) => Vars,
    onError: (i: number, error: unknown) => void = (_i, error) => {
      throw error;
    },
  ): Promise<Array<Doc | undefined>> {
    if (this.spec.pipeline !== undefined || this.readLocal === undefined) {
      const out: Array<Doc | undefined> = [];
      for (let i = 0; i < docs.length; i++) {
        let bound: Record<string, unknown>;
        try {
          bound = this.letValues(docs[i], varsOf(i));
        } catch (error) {
          onError(i, error);
          out.push(undefined);
          continue;
        }
        out.push(await this.withPipeline(docs[i], varsOf(i), bound));
      }
      return out;
    }
    return this.withEquality(docs, varsOf);
  }

  /** A read of the foreign collection, retried after transient errors; what still fails is a ConnectorError. */
  private async read<T>(task: () => Promise<T>): Promise<T> {
    try {
      return await withRetries(task, isTransientMongoError);
    } catch (error) {
      const { db, coll } = this.spec.from;
      throw mongoFailure(error, `$lookup from ${db}.${coll} failed`);
    }
  }

  private letValues(doc: Doc, vars: Vars): Record<string, unknown> {
    const bound: Record<string, unknown> = {};
    for (const [name, evaluate] of Object.entries(this.spec.let ?? {})) bound[name] = evaluate(doc, vars);
    return bound;
  }

  private async withEquality(docs: readonly Doc[], varsOf: (i: number) => Vars): Promise<Doc[]> {
    const readLocal = this.readLocal as Evaluator;
    const locals = docs.map((doc, i) => localValues(readLocal(doc, varsOf(i))));
    const foreign = await this.fetchForeign(locals.flat());
    const foreignField = this.spec.foreignField as string;
    return docs.map((doc, i) => {
      const matches = compileQuery(matchFilter(foreignField, locals[i]));
      return this.setResults(doc, { [RESULTS_VAR]: foreign.filter((f) => matches(f)) });
    });
  }

  /** Foreign documents that may match any of `values` (from the cache where fresh). */
  private async fetchForeign(values: readonly unknown[]): Promise<Doc[]> {
    const foreignField = this.spec.foreignField as string;
    const coll = this.foreign;
    if (!this.cache) return this.read(() => coll.find(matchFilter(foreignField, values)));
    const { hits, misses } = this.cache.lookup(values);
    if (misses.length > 0) {
      const fetched = await this.read(() => coll.find(matchFilter(foreignField, misses)));
      for (const value of misses) {
        const matches = compileQuery(matchFilter(foreignField, [value]));
        this.cache.store(
          value,
          fetched.filter((f) => matches(f)),
        );
      }
      hits.push(...fetched);
    }
    return dedupe(hits);
  }

  private async withPipeline(doc: Doc, vars: Vars, bound: Record<string, unknown>): Promise<Doc> {
    const stages: Doc[] = bindVariables(this.spec.pipeline ?? [], bound) as Doc[];
    if (this.readLocal !== undefined) {
      stages.unshift({
        $match: matchFilter(this.spec.foreignField as string, localValues(this.readLocal(doc, vars))),
      });
    }
    const results = await this.read(() => this.foreign.aggregate(stages));
    return this.setResults(doc, { [RESULTS_VAR]: results });
  }
}

/** `$lookup` treats an array local value as its elements, and missing as null. */
function localValues(value: unknown): unknown[] {
  if (value === undefined) return [null];
  return Array.isArray(value) ? (value.length === 0 ? [] : value) : [value];
}

function matchFilter(foreignField: string, values: readonly unknown[]): Doc {
  return { [foreignField]: { $in: values.length === 0 ? [] : values } };
}

function dedupe(docs: readonly Doc[]): Doc[] {
  const seen = new Set<unknown>();
  const out: Doc[] = [];
  for (const doc of docs) {
    const key = doc._id === undefined ? doc : String(doc._id);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(doc);
    }
  }
  return out;
}

/**
 * `$emit` to a MongoDB time-series collection (docs/asp-semantics.md §3.3): `{connectionName, db, coll, timeseries:
 * {timeField, metaField?, granularity?, bucketMaxSpanSeconds?, bucketRoundingSeconds?}}`. The collection
 * is created with those options when it does not exist yet; documents are inserted in order. A document
 * whose `timeField` is not a date, or whose dynamic `db`/`coll` does not evaluate to a valid name, goes to
 * the DLQ alone; insert errors on one document (too large, duplicate `_id`) likewise. Transient errors are
 * retried here; what still fails is thrown as a {@link ConnectorError}.
 *
 * Servers before MongoDB 5.0 (among them the test stand-in, which reports 4.4) have no time-series
 * collections: the collection is then created as a plain one (docs/testing.md).
 */
import type { CreateCollectionOptions, MongoClient, TimeSeriesCollectionOptions } from "mongodb";
import type { Doc, Vars } from "../../mql/index.ts";
import type { Sink, SinkResult } from "../../runtime/sink.ts";
import { withRetries, type RetryPolicy } from "../retry.ts";
import type { EmitPlan } from "../../pipeline/plan.ts";
import type { TimeseriesEmitOptions } from "./spec.ts";
import { isTransientMongoError, mongoFailure } from "./errors.ts";
import { namespaceProblem } from "./namespace.ts";
import { bulkFailureIndex, writeErrorMessage } from "./write-errors.ts";
import { readPath, sinkResult } from "./write-results.ts";

type TimeseriesOptions = TimeseriesEmitOptions["timeseries"];
type EmitSinkPlan = EmitPlan<TimeseriesEmitOptions>;

export interface TimeseriesEmitSinkOptions {
  readonly retry?: RetryPolicy;
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

const NO_VARS: Vars = Object.freeze({});
const NAMESPACE_EXISTS = 48;

export class TimeseriesEmitSink implements Sink {
  readonly operatorName = "TimeseriesEmitOperator";
  private readonly client: MongoClient;
  private readonly plan: EmitSinkPlan;
  private readonly timeseries: TimeseriesOptions;
  private readonly options: TimeseriesEmitSinkOptions;
  /** Namespaces known to exist (created or found), so each is checked once per run. */
  private readonly ready = new Set<string>();
  private serverHasTimeseries: Promise<boolean> | undefined;

  constructor(client: MongoClient, plan: EmitSinkPlan, options: TimeseriesEmitSinkOptions = {}) {
    this.client = client;
    this.plan = plan;
    this.timeseries = plan.options.timeseries;
    this.options = options;
  }

  async write(docs: readonly Doc[]): Promise<SinkResult> {
    const failures: Array<{ index: number; message: string }> = [];
    const groups = new Map<
      string,
      { db: string; coll: string; entries: Array<{ index: number; doc: Doc }> }
    >();
    docs.forEach((doc, index) => {
      try {
        const [db, coll] = this.namespaceOf(doc);
        this.checkTime(doc);
        const key = `${db}.${coll}`;
        let group = groups.get(key);
        if (!group) groups.set(key, (group = { db, coll, entries: [] }));
        group.entries.push({ index, doc });
      } catch (error) {
        failures.push({ index, message: (error as Error).message });
      }
    });
    for (const { db, coll, entries } of groups.values()) {
      try {
        await this.ensureCollection(db, coll);
        failures.push(...(await this.insert(db, coll, entries)));
      } catch (error) {
        throw mongoFailure(error, `$emit to time-series collection ${db}.${coll} failed`);
      }
    }
    return sinkResult(docs, failures);
  }

  async close(): Promise<void> {}

  private namespaceOf(doc: Doc): [string, string] {
    const evaluators = this.plan.evaluators ?? {};
    const vars = doc._stream_meta === undefined ? NO_VARS : { $stream: doc._stream_meta };
    const fail = (message: string): never => {
      throw new Error(`Failed to evaluate target namespace in TimeseriesEmitOperator with error: ${message}`);
    };
    let db: unknown;
    let coll: unknown;
    try {
      db = evaluators.db ? evaluators.db(doc, vars) : this.plan.options.db;
      coll = evaluators.coll ? evaluators.coll(doc, vars) : this.plan.options.coll;
    } catch (error) {
      return fail((error as Error).message);
    }
    if (typeof db !== "string" || db === "")
      fail(`$emit.db must evaluate to a non-empty string, got ${JSON.stringify(db) ?? "missing"}`);
    if (typeof coll !== "string" || coll === "")
      fail(`$emit.coll must evaluate to a non-empty string, got ${JSON.stringify(coll) ?? "missing"}`);
    const problem = namespaceProblem(db as string, coll as string);
    if (problem !== undefined) fail(problem);
    return [db as string, coll as string];
  }

  /** MongoDB's own rule and wording for time-series inserts. */
  private checkTime(doc: Doc): void {
    const { timeField } = this.timeseries;
    const value = readPath(doc, timeField);
    if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
      throw new Error(`'${timeField}' must be present and contain a valid BSON UTC datetime value`);
    }
  }

  private async ensureCollection(db: string, coll: string): Promise<void> {
    const key = `${db}.${coll}`;
    if (this.ready.has(key)) return;
    await this.retrying(async () => {
      const existing = await this.client.db(db).listCollections({ name: coll }, { nameOnly: true }).toArray();
      if (existing.length > 0) return;
      const options: CreateCollectionOptions = (await this.timeseriesSupported())
        ? { timeseries: this.createOptions() }
        : {};
      try {
        await this.client.db(db).createCollection(coll, options);
      } catch (error) {
        // Another writer created it between the check and the create.
        if ((error as { code?: unknown }).code !== NAMESPACE_EXISTS) throw error;
      }
    });
    this.ready.add(key);
  }

  private createOptions(): TimeSeriesCollectionOptions {
    const { timeField, metaField, granularity, bucketMaxSpanSeconds, bucketRoundingSeconds } =
      this.timeseries;
    const options: TimeSeriesCollectionOptions = { timeField };
    if (metaField !== undefined) options.metaField = metaField;
    if (granularity !== undefined) options.granularity = granularity;
    if (bucketMaxSpanSeconds !== undefined) options.bucketMaxSpanSeconds = bucketMaxSpanSeconds;
    if (bucketRoundingSeconds !== undefined) options.bucketRoundingSeconds = bucketRoundingSeconds;
    return options;
  }

  /** Time-series collections exist from MongoDB 5.0 on. */
  private timeseriesSupported(): Promise<boolean> {
    return (this.serverHasTimeseries ??= this.client
      .db("admin")
      .command({ buildInfo: 1 })
      .then((info) => Number(String(info.version ?? "0").split(".")[0]) >= 5)
      .catch((error: unknown) => {
        this.serverHasTimeseries = undefined;
        throw error;
      }));
  }

  /** Ordered inserts; a document the server rejects fails alone and the rest is re-sent. */
  private async insert(
    db: string,
    coll: string,
    entries: ReadonlyArray<{ index: number; doc: Doc }>,
  ): Promise<Array<{ index: number; message: string }>> {
    const failures: Array<{ index: number; message: string }> = [];
    const collection = this.client.db(db).collection(coll);
    let pending = entries;
    while (pending.length > 0) {
      try {
        const batch = pending.map((e) => ({ ...e.doc }));
        await this.retrying(() => collection.insertMany(batch, { ordered: true }));
        pending = [];
      } catch (error) {
        const failedAt = bulkFailureIndex(error);
        if (failedAt === undefined || isTransientMongoError(error)) throw error;
        failures.push({ index: pending[failedAt].index, message: writeErrorMessage(error) });
        pending = pending.slice(failedAt + 1);
      }
    }
    return failures;
  }

  private retrying<T>(task: () => Promise<T>): Promise<T> {
    return withRetries(task, isTransientMongoError, { ...this.options.retry, onRetry: this.options.onRetry });
  }
}

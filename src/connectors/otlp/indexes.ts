/**
 * The indexes of the telemetry collections (docs/otlp.md "Indexes"): trace id, and service name + time.
 * A raw-ingest processor — the OTLP `$source`, only `$match`/`$validate` after it, `$merge` into a literal
 * collection — creates them on its target when it starts. `createIndexes` with the same keys and options is
 * a no-op on the server, so every start may ask again; `$source.createIndexes: false` turns it off.
 */
import type { IndexDescription, MongoClient } from "mongodb";
import type { Doc } from "../../mql/index.ts";
import type { ProcessorPlan } from "../../pipeline/plan.ts";
import type { Signal } from "./signals.ts";

export const SIGNAL_INDEXES: Readonly<Record<Signal, readonly IndexDescription[]>> = {
  traces: [{ key: { traceId: 1 } }, { key: { serviceName: 1, startTime: -1 } }],
  logs: [{ key: { traceId: 1 } }, { key: { serviceName: 1, time: -1 } }],
  metrics: [{ key: { serviceName: 1, name: 1, time: -1 } }],
};

/** Stages that keep a record's shape (and so the indexed fields where the mapping put them). */
const SHAPE_KEEPING = new Set(["match", "validate"]);

export interface IndexTarget {
  readonly connectionName: string;
  readonly db: string;
  readonly coll: string;
}

/** Where a raw-ingest plan writes the mapped documents as they are; undefined for any other plan. */
export function rawIngestTarget(plan: ProcessorPlan): IndexTarget | undefined {
  const sink = plan.sink;
  if (sink?.kind !== "merge" || !plan.stages.every((stage) => SHAPE_KEEPING.has(stage.kind)))
    return undefined;
  const into = (sink.options.into ?? {}) as Doc;
  const literal = (value: unknown) =>
    typeof value === "string" && value !== "" && !value.startsWith("$") ? value : undefined;
  const db = literal(into.db);
  const coll = literal(into.coll);
  return db && coll ? { connectionName: sink.connectionName, db, coll } : undefined;
}

/** Creates `signal`'s indexes on `target` (idempotent). */
export async function ensureSignalIndexes(
  client: MongoClient,
  target: IndexTarget,
  signal: Signal,
): Promise<void> {
  await client
    .db(target.db)
    .collection(target.coll)
    .createIndexes([...SIGNAL_INDEXES[signal]]);
}

/**
 * Scheduled (an Eddy extension; ASP has no such source): a `$source` that runs a query on a MongoDB
 * collection at each firing of a cron expression and hands over what it finds in batches — the replacement
 * for an App Services scheduled trigger ("every hour, rows modified since the last run and not processed").
 * The connection is a MongoDB deployment (`uri`). Pure: the driver is imported when the source is opened.
 */
import type { Doc } from "../../mql/index.ts";
import type { Spec } from "../../pipeline/spec.ts";
import { required } from "../open-helpers.ts";
import { requireStringSetting } from "../setting-checks.ts";
import { defineConnector } from "../spec.ts";
import { CronSyntaxError, nextFiring, parseCron } from "./cron.ts";

export const DEFAULT_SCHEDULED_BATCH_SIZE = 100;

/** `$source` on a Scheduled connection, with the defaults applied. */
export interface ScheduledSourceOptions {
  /** Cron expression, UTC: 5 fields, or 6 with seconds first. */
  readonly schedule: string;
  readonly db: string;
  readonly coll: string;
  /** Query filter; `"$$firedAt"` and `"$$lastFiredAt"` are bound to the firing's and the last run's Date. */
  readonly filter: Doc;
  /** Order of the documents in a run (default `{_id: 1}`). */
  readonly sort: Doc;
  /** Documents per batch handed over (default 100). */
  readonly batchSize: number;
}

export const scheduled = defineConnector<ScheduledSourceOptions>({
  type: "Scheduled",
  aliases: ["scheduled", "schedule"],
  description:
    "Eddy extension: a `$source` that queries a MongoDB collection on a cron schedule (scheduled triggers).",
  connection: {
    properties: {
      uri: { type: "string", description: 'MongoDB connection string, e.g. "{{MONGODB_URI}}".' },
    },
    required: ["uri"],
  },
  checkConnection: (connection) =>
    requireStringSetting(
      connection,
      "uri",
      'a Scheduled connection queries MongoDB: set config.uri (e.g. "{{MONGODB_URI}}")',
      { pattern: /^mongodb(\+srv)?:\/\//, text: "a mongodb:// or mongodb+srv:// URI" },
    ),
  source: {
    label: "Scheduled (cron query)",
    fields: {
      properties: {
        schedule: {
          type: "string",
          description:
            'Cron expression in UTC: 5 fields (`"0 * * * *"`, hourly) or 6 with seconds first (`"0 0/5 * * * *"`).',
        },
        db: { type: "string", description: "Database to query." },
        coll: { type: "string", description: "Collection to query." },
        filter: {
          type: "object",
          description:
            'Query filter (default `{}`); `"$$firedAt"` and `"$$lastFiredAt"` stand for the firing time and the last completed run (epoch before the first).',
        },
        sort: { type: "object", description: "Order of the documents of one run (default `{_id: 1}`)." },
        batchSize: { type: "integer", minimum: 1, description: "Documents per batch (default 100)." },
      },
      required: ["schedule", "db", "coll"],
    },
    plan: planScheduledSource,
  },
  async openSource(source, ctx) {
    const { ScheduledSource } = await import("./source.ts");
    const lastFiredAt = ctx.positions.lastFiredAt;
    return new ScheduledSource(
      required(ctx.clients).mongoClient(source.connectionName ?? ""),
      source.options,
      {
        ...(typeof lastFiredAt === "number" ? { lastFiredAt } : {}),
      },
    );
  },
});

function planScheduledSource(spec: Spec): { options: ScheduledSourceOptions } | undefined {
  const schedule = spec.string("schedule", true);
  const db = spec.string("db", true);
  const coll = spec.string("coll", true);
  const filter = spec.doc("filter") ?? {};
  const sort = spec.doc("sort") ?? { _id: 1 };
  const batchSize = spec.int("batchSize") ?? DEFAULT_SCHEDULED_BATCH_SIZE;
  if (batchSize < 1) spec.error("batchSize", "batchSize must be at least 1");
  if (db === "") spec.error("db", "db must not be empty");
  if (coll === "") spec.error("coll", "coll must not be empty");
  if (schedule !== undefined) checkSchedule(spec, schedule);
  if (spec.hasIssuesSinceOpen() || schedule === undefined || db === undefined || coll === undefined)
    return undefined;
  return { options: { schedule, db, coll, filter, sort, batchSize } };
}

function checkSchedule(spec: Spec, schedule: string): void {
  try {
    if (nextFiring(parseCron(schedule), Date.now()) === undefined)
      spec.error("schedule", `the cron expression '${schedule}' never fires (a day that no month has?)`);
  } catch (error) {
    if (!(error instanceof CronSyntaxError)) throw error;
    spec.error("schedule", `invalid cron expression '${schedule}': ${error.message}`);
  }
}

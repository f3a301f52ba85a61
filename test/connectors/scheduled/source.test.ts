import { describe, expect, it } from "vitest";
import { ScheduledSource } from "../../../src/connectors/scheduled/source.ts";
import type { ScheduledSourceOptions } from "../../../src/connectors/scheduled/spec.ts";
import { CONNECTORS } from "../../../src/connectors/registry.ts";
import type { Doc } from "../../../src/mql/index.ts";
import { catalogOf } from "../../../src/pipeline/connections.ts";
import { planProcessor, PlanError, type PlanIssue } from "../../../src/pipeline/index.ts";
import type { SourceBatch } from "../../../src/runtime/source.ts";
import { useMongoDatabase } from "../../support/mongo.ts";

const connections = catalogOf([
  { name: "sweep", type: "Scheduled", config: { uri: "mongodb://127.0.0.1:27999" } },
  { name: "atlas", type: "Cluster", config: { uri: "mongodb://127.0.0.1:27999" } },
]);

function planSource(source: Doc): ScheduledSourceOptions {
  const plan = planProcessor(
    { name: "p", pipeline: [{ $source: { connectionName: "sweep", ...source } }] },
    { connectors: CONNECTORS, connections, ephemeral: true },
  );
  return plan.source.options as ScheduledSourceOptions;
}

function issues(source: Doc): PlanIssue[] {
  try {
    planSource(source);
    return [];
  } catch (error) {
    if (error instanceof PlanError) return error.errors.map(({ path, message }) => ({ path, message }));
    throw error;
  }
}

/** Virtual time: sleeping moves the clock, so an hourly schedule runs in milliseconds. */
function virtualTime(startIso: string): { clock: { now(): number }; sleep(ms: number): Promise<void> } {
  let now = Date.parse(startIso);
  return {
    clock: { now: () => now },
    sleep: async (ms) => {
      now += ms;
    },
  };
}

const ids = (batch: SourceBatch | undefined): unknown[] => (batch?.records ?? []).map((r) => r.doc?._id);

describe("Scheduled $source: planning", () => {
  it("applies the defaults", () => {
    expect(planSource({ schedule: "0 * * * *", db: "shop", coll: "orders" })).toEqual({
      schedule: "0 * * * *",
      db: "shop",
      coll: "orders",
      filter: {},
      sort: { _id: 1 },
      batchSize: 100,
    });
  });

  it("rejects a bad cron expression, naming the field and the JSON path", () => {
    expect(issues({ schedule: "0 24 * * *", db: "shop", coll: "orders" })).toEqual([
      {
        path: "pipeline[0].$source.schedule",
        message: "invalid cron expression '0 24 * * *': cron hour field '24': expected values 0-23",
      },
    ]);
    expect(issues({ schedule: "0 0 31 2 *", db: "shop", coll: "orders" })).toEqual([
      {
        path: "pipeline[0].$source.schedule",
        message: "the cron expression '0 0 31 2 *' never fires (a day that no month has?)",
      },
    ]);
  });

  it("requires schedule, db and coll, and a positive batchSize", () => {
    const found = issues({ batchSize: 0 });
    expect(found.map((i) => i.path)).toEqual(
      expect.arrayContaining([
        "pipeline[0].$source.schedule",
        "pipeline[0].$source.db",
        "pipeline[0].$source.coll",
        "pipeline[0].$source.batchSize",
      ]),
    );
  });
});

describe("ScheduledSource", () => {
  const mongo = useMongoDatabase("sched");
  const { db } = mongo;

  async function seed(coll: string): Promise<void> {
    const hour = (h: number) => new Date(`2026-12-06T${String(h).padStart(2, "0")}:30:00Z`);
    await mongo.client
      .db(db)
      .collection<{ _id: number; [key: string]: unknown }>(coll)
      .insertMany([
        { _id: 1, processed: false, modifiedAt: hour(9) },
        { _id: 2, processed: false, modifiedAt: hour(10) },
        { _id: 3, processed: true, modifiedAt: hour(10) },
        { _id: 4, processed: false, modifiedAt: hour(10) },
        { _id: 5, processed: false, modifiedAt: hour(10) },
        { _id: 6, processed: false, modifiedAt: hour(11) },
      ]);
  }

  const options = (coll: string): ScheduledSourceOptions =>
    planSource({
      schedule: "0 * * * *",
      db,
      coll,
      filter: { processed: false, modifiedAt: { $gte: "$$lastFiredAt", $lt: "$$firedAt" } },
      batchSize: 2,
    });

  it("waits for the firing, then hands over what the query finds in batches, and waits again", async () => {
    await seed("hourly");
    const time = virtualTime("2026-12-06T10:59:59.400Z");
    const source = new ScheduledSource(mongo.client, options("hourly"), {
      ...time,
      lastFiredAt: Date.parse("2026-12-06T10:00:00Z"),
    });
    await source.start();
    expect(await source.next()).toEqual({ records: [], idle: true }); // slept until 11:00:00
    const first = await source.next();
    expect(ids(first)).toEqual([2, 4]);
    expect(first?.records[0]).toMatchObject({
      timestamp: Date.parse("2026-12-06T11:00:00Z"),
      meta: { firedAt: new Date("2026-12-06T11:00:00Z") },
    });
    // Mid-run the checkpoint still names the previous firing: a crash now repeats this run.
    expect(source.positions()).toEqual({ lastFiredAt: Date.parse("2026-12-06T10:00:00Z") });
    const rest: unknown[] = [];
    for (let i = 0; i < 3 && source.positions().lastFiredAt !== Date.parse("2026-12-06T11:00:00Z"); i++)
      rest.push(...ids(await source.next()));
    expect(rest).toEqual([5]);
    expect(source.positions()).toEqual({ lastFiredAt: Date.parse("2026-12-06T11:00:00Z") });
    // Nothing is due before 12:00: idle batches while the virtual clock runs towards it.
    expect(await source.next()).toEqual({ records: [], idle: true });
    await source.close();
  });

  it("after a restart, runs the firings missed while it was down as one run from the checkpoint", async () => {
    await seed("missed");
    const time = virtualTime("2026-12-06T12:10:00Z");
    const source = new ScheduledSource(mongo.client, options("missed"), {
      ...time,
      lastFiredAt: Date.parse("2026-12-06T10:00:00Z"),
    });
    await source.start();
    const found: unknown[] = [];
    for (let i = 0; i < 4; i++) found.push(...ids(await source.next()));
    await source.close();
    // 10:00 to 12:00 (the latest firing due): documents modified at 10:30 and 11:30.
    expect(found).toEqual([2, 4, 5, 6]);
    expect(source.positions()).toEqual({ lastFiredAt: Date.parse("2026-12-06T12:00:00Z") });
  });

  it("fails with the query's error when the server rejects the query", async () => {
    await mongo.client
      .db(db)
      .collection<{ _id: number; [key: string]: unknown }>("bad")
      .insertOne({ _id: 1, processed: false });
    const source = new ScheduledSource(
      mongo.client,
      { ...options("bad"), filter: { processed: { $noSuchOperator: 1 } } },
      { ...virtualTime("2026-12-06T10:59:59Z"), lastFiredAt: 0 },
    );
    await source.start();
    await expect(source.next()).rejects.toThrow(/scheduled \$source query on .*\.bad failed/);
    await source.close();
  });
});

// Matching events to subscriptions end to end: change stream → jobs → webhooks at a local receiver.
import { ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonLogger, silentLogger } from "../../src/runtime/log.ts";
import { DispatchService } from "../../src/dispatch/service.ts";
import { verifyWebhook } from "../../src/dispatch/signing.ts";
import { useMongoDatabase } from "../support/mongo.ts";
import { testServices } from "../support/services.ts";
import { eventually, startReceiver, testConfig, type Receiver } from "./support.ts";

const mongo = useMongoDatabase("dispatch_match");
const SECRET = "whsec_" + Buffer.from("a-test-secret-of-24-bytes").toString("base64");
let receiver: Receiver;
let service: DispatchService;

beforeAll(async () => {
  receiver = await startReceiver();
  service = await DispatchService.start(
    // No polling after the first: the dispatcher takes the matcher's new jobs as offered. (The test stand-in
    // appends an insert's change event just after the insert, outside its lock, so a poll's claim racing the
    // insert could show in the event; MongoDB's insert event is the inserted document.)
    await testConfig(testServices().mongodbUri, mongo.db, { pollIntervalMs: 600_000 }),
    process.env.DISPATCH_TEST_LOG ? jsonLogger() : silentLogger,
  );
});

afterAll(async () => {
  await service?.close();
  await receiver?.close();
});

const sub = (name: string, pattern: string, extra: Record<string, unknown> = {}) => ({
  _id: new ObjectId(),
  client_id: "acme",
  name,
  event_type_pattern: pattern,
  target: `${receiver.url}/${name}`,
  pool_code: "default",
  active: true,
  secret: SECRET,
  ...extra,
});

describe("matching", () => {
  it("creates jobs for exactly the three of four patterns that match, and delivers signed webhooks", async () => {
    const subs = [
      sub("exact", "orders:fulfillment:shipment:shipped"),
      sub("two", "orders:fulfillment:*:*"),
      sub("domain", "orders:*:*:*"),
      sub("inventory", "inventory:*:*:*"),
      // filtered out: another client, inactive, filter not met
      sub("other-client", "*:*:*:*", { client_id: "globex" }),
      sub("inactive", "*:*:*:*", { active: false }),
      sub("big-only", "orders:*:*:*", { filters: { "data.amount": { $gte: 1000 } } }),
      sub("source-filter", "*:*:*:*", { filters: { source: "warehouse", "metadata.region": "eu" } }),
    ];
    await mongo.client.db(mongo.db).collection("subscriptions").insertMany(subs);
    await eventually(
      async () => (await service.health()).matcher.subscriptions === 7,
      "subscriptions loaded",
    );

    const event = {
      _id: new ObjectId(),
      type: "orders:fulfillment:shipment:shipped",
      client_id: "acme",
      source: "warehouse",
      metadata: { region: "us" },
      time: new Date(),
      data: { amount: 10, order: "o-1" },
    };
    // Every job is created PENDING (the original's contract), even with a dispatcher in the same process.
    const created = mongo.client
      .db(mongo.db)
      .collection("dispatch_jobs")
      .watch([{ $match: { operationType: "insert" } }]);
    await created.tryNext(); // opens the stream before the event is inserted
    await mongo.client.db(mongo.db).collection("events").insertOne(event);

    const jobs = await eventually(async () => {
      const found = await service.jobs.list({ eventId: event._id.toHexString() });
      return found.length >= 3 && found.every((j) => j.status === "DELIVERED") ? found : undefined;
    }, "three delivered jobs");
    expect(jobs.map((j) => j.target.split("/").pop()).sort()).toEqual(["domain", "exact", "two"]);
    const createdStatuses: unknown[] = [];
    await eventually(async () => {
      const change = await created.tryNext();
      if (change?.operationType === "insert") createdStatuses.push(change.fullDocument.status);
      return createdStatuses.length >= 3;
    }, "the jobs' insert events");
    await created.close();
    expect(createdStatuses).toEqual(["PENDING", "PENDING", "PENDING"]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await service.jobs.list({ eventId: event._id.toHexString() })).toHaveLength(3);

    const hooks = receiver.received.filter((r) => JSON.parse(r.body).id === event._id.toHexString());
    expect(hooks.map((h) => h.path).sort()).toEqual(["/domain", "/exact", "/two"]);
    for (const hook of hooks) {
      const job = jobs.find((j) => j.target.endsWith(hook.path));
      expect(hook.headers["webhook-id"]).toBe(job?._id);
      const ok = verifyWebhook(
        SECRET,
        {
          id: String(hook.headers["webhook-id"]),
          timestamp: String(hook.headers["webhook-timestamp"]),
          signature: String(hook.headers["webhook-signature"]),
        },
        hook.body,
      );
      expect(ok).toBe(true);
      expect(JSON.parse(hook.body)).toMatchObject({ type: event.type, data: { amount: 10 } });
    }
  });

  it("applies payload, source and metadata filters", async () => {
    const events = mongo.client.db(mongo.db).collection("events");
    const big = {
      _id: new ObjectId(),
      type: "orders:billing:invoice:paid",
      client_id: "acme",
      source: "billing",
      data: { amount: 5000 },
    };
    const eu = {
      _id: new ObjectId(),
      type: "stock:levels:item:low",
      client_id: "acme",
      source: "warehouse",
      metadata: { region: "eu" },
      data: {},
    };
    const otherClient = {
      _id: new ObjectId(),
      type: "orders:billing:invoice:paid",
      client_id: "nobody",
      data: { amount: 5000 },
    };
    await events.insertMany([big, eu, otherClient]);
    const targetsOf = async (id: ObjectId) =>
      (await service.jobs.list({ eventId: id.toHexString() })).map((j) => j.target.split("/").pop()).sort();
    await eventually(async () => (await targetsOf(eu._id)).length === 1, "the eu event's job");
    await eventually(async () => (await targetsOf(big._id)).length === 2, "the big order's jobs");
    expect(await targetsOf(big._id)).toEqual(["big-only", "domain"]);
    expect(await targetsOf(eu._id)).toEqual(["source-filter"]);
    expect(await targetsOf(otherClient._id)).toEqual([]);
  });

  it("follows subscription changes: deactivation, new subscriptions, deletes", async () => {
    const db = mongo.client.db(mongo.db);
    await db.collection("subscriptions").updateOne({ name: "domain" }, { $set: { active: false } });
    const added = sub("late", "payments:*:*:*");
    await db.collection("subscriptions").insertOne(added);
    await db.collection("subscriptions").deleteOne({ name: "exact" });
    await eventually(
      async () => service.health().matcher.subscriptions === 6,
      "subscription changes applied",
    );
    const event = {
      _id: new ObjectId(),
      type: "orders:fulfillment:shipment:shipped",
      client_id: "acme",
      data: { amount: 1 },
    };
    const payment = {
      _id: new ObjectId(),
      type: "payments:card:charge:captured",
      client_id: "acme",
      data: {},
    };
    await db.collection("events").insertMany([event, payment]);
    await eventually(
      async () => (await service.jobs.list({ eventId: payment._id.toHexString() })).length === 1,
      "payment job",
    );
    const jobs = await service.jobs.list({ eventId: event._id.toHexString() });
    expect(jobs.map((j) => j.target.split("/").pop()).sort()).toEqual(["two"]);
  });

  it("keeps read models and exposes the original metric names", async () => {
    const db = mongo.client.db(mongo.db);
    // The read models are written after the jobs the earlier tests waited for.
    await eventually(async () => {
      const counts = await db
        .collection("event_type_counts")
        .findOne({ _id: "orders:fulfillment:shipment:shipped" as never });
      return (counts?.count as number) >= 2;
    }, "event type counts");
    await eventually(async () => {
      const activity = await db.collection("client_activity").findOne({ _id: "acme" as never });
      return (activity?.events as number) >= 4;
    }, "client activity");
    const twoId = (await db.collection("subscriptions").findOne({ name: "two" }))?._id;
    const stats = await eventually(async () => {
      const s = await db.collection("subscription_stats").findOne({ _id: String(twoId) as never });
      return s && s.delivered >= 2 && s.matched >= 2 ? s : undefined;
    }, "subscription stats");
    // Each job was matched once and, offered after the read models were written, delivered once.
    expect(stats.delivered).toBeLessThanOrEqual(stats.matched);
    const text = await (await fetch(`${service.metricsUrl}/metrics`)).text();
    for (const name of [
      "fc_stream_events_processed_total",
      "fc_stream_dispatch_jobs_created_total",
      "fc_stream_processing_duration_seconds_bucket",
      "fc_stream_change_stream_lag_seconds",
      "fc_stream_subscriptions_matched_total",
      "fc_dispatch_attempts_total",
      "fc_dispatch_outcomes_total",
      "fc_dispatch_delivery_duration_seconds_bucket",
    ]) {
      expect(text).toContain(name);
    }
    const health = await fetch(`${service.metricsUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: "ok",
      matcher: { role: "leader", changeStreamConnected: true },
    });
  });
});

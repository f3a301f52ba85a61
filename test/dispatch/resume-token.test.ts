// The invalid / expired resume-token policy (FC_STREAM_INVALID_TOKEN_POLICY) against a private MongoDB
// stand-in, which answers a change stream resumed from before its history as a replica set does: error 286
// ChangeStreamHistoryLost, labelled NonResumableChangeStreamError. start-from-now (the default) warns, counts
// the reset and the events in the gap and matches what comes next; fail stops the matcher and keeps the token.
import { join } from "node:path";
import { MongoClient, MongoServerError, ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPrivateMongo, type PrivateMongo } from "../../scripts/services/private.ts";
import { openStateStore } from "../../src/control/open-state-store.ts";
import type { DispatchConfig } from "../../src/dispatch/config.ts";
import { RESUME_TOKENS, type SavedPosition } from "../../src/dispatch/matcher.ts";
import { DispatchService } from "../../src/dispatch/service.ts";
import type { Logger } from "../../src/runtime/log.ts";
import { eventually, orderEvents, ordersSubscription, testConfig } from "./support.ts";

let mongo: PrivateMongo;
let client: MongoClient;
const services: DispatchService[] = [];

beforeAll(async () => {
  mongo = await startPrivateMongo({ persistent: false });
  client = await new MongoClient(mongo.uri).connect();
}, 120_000);

afterAll(async () => {
  for (const service of services) await service.close();
  await client?.close();
  await mongo?.dispose();
});

/** A token in the stand-in's format (hex of the oplog timestamp) from 2020: before this server's history. */
const EXPIRED_TOKEN = { _data: ((1_600_000_000n << 32n) | 1n).toString(16) };

/** A database with one subscription to every event, `gap` events already in it, and a saved expired token. */
async function seed(
  db: string,
  gap: number,
  overrides: Partial<DispatchConfig>,
): Promise<{ config: DispatchConfig; tokenKey: string }> {
  const lastProcessed = new ObjectId();
  await client
    .db(db)
    .collection("subscriptions")
    .insertOne(ordersSubscription("all", "http://127.0.0.1:9", { event_type_pattern: "*:*:*:*" }));
  await insertEvents(db, gap);
  const config = await testConfig(mongo.uri, db, { dispatcher: false, ...overrides });
  const store = await openStateStore({ dataDir: join(config.dataDir, "dispatch"), stateUri: undefined });
  const saved: SavedPosition = { token: EXPIRED_TOKEN, lastEventId: lastProcessed, savedAt: new Date() };
  await store.put(RESUME_TOKENS, config.resumeTokenKey, saved);
  await store.close();
  return { config, tokenKey: config.resumeTokenKey };
}

function insertEvents(db: string, n: number) {
  return client.db(db).collection("events").insertMany(orderEvents(n));
}

async function savedToken(config: DispatchConfig): Promise<unknown> {
  const store = await openStateStore({ dataDir: join(config.dataDir, "dispatch"), stateUri: undefined });
  try {
    return (await store.get<SavedPosition>(RESUME_TOKENS, config.resumeTokenKey))?.token;
  } finally {
    await store.close();
  }
}

function recordingLogger(): Logger & { warnings: Array<{ msg: string; fields?: Record<string, unknown> }> } {
  const warnings: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
  return { warnings, info: () => {}, error: () => {}, warn: (msg, fields) => warnings.push({ msg, fields }) };
}

describe("an expired resume token", () => {
  it("is refused by the stand-in as MongoDB refuses it: 286 ChangeStreamHistoryLost, non-resumable", async () => {
    const stream = client
      .db("resume_token_shape")
      .collection("events")
      .watch([], { resumeAfter: EXPIRED_TOKEN });
    const error = await stream.tryNext().then(
      () => undefined,
      (e: unknown) => e,
    );
    await stream.close();
    expect(error).toBeInstanceOf(MongoServerError);
    expect(error).toMatchObject({ code: 286, codeName: "ChangeStreamHistoryLost" });
    expect((error as MongoServerError).hasErrorLabel("NonResumableChangeStreamError")).toBe(true);
  });

  it("start-from-now: warns, counts the reset and the skipped events, and matches the events after it", async () => {
    const db = `resume_token_reset_${Date.now().toString(36)}`;
    const { config } = await seed(db, 3, {});
    const logger = recordingLogger();
    const service = await DispatchService.start(config, logger);
    services.push(service);
    await eventually(
      async () => service.health().matcher.changeStreamConnected,
      "the matcher to read the stream",
    );
    expect(service.metrics.value("fc_stream_resume_token_resets_total")).toBe(1);
    expect(service.metrics.value("fc_stream_skipped_events_total")).toBe(3);
    expect(logger.warnings).toContainEqual({
      msg: "resume token invalid or expired: starting from now; events in the gap get no jobs",
      fields: expect.objectContaining({
        skippedEvents: 3,
        error: expect.stringMatching(/no longer be in the oplog/),
      }),
    });
    const { insertedIds } = await insertEvents(db, 1);
    const jobs = client.db(db).collection("dispatch_jobs");
    await eventually(async () => (await jobs.countDocuments()) === 1, "the new event's job");
    expect((await jobs.findOne())?.event_id).toEqual(insertedIds[0]);
    // The expired token was replaced by one the server can resume from.
    await eventually(
      async () => JSON.stringify(await savedToken(config)) !== JSON.stringify(EXPIRED_TOKEN),
      "a fresh token saved",
    );
    expect(service.health().matcher).toMatchObject({ role: "leader" });
  });

  it("fail: stops the matcher, reports it in /health and keeps the token", async () => {
    const db = `resume_token_fail_${Date.now().toString(36)}`;
    const { config } = await seed(db, 2, { invalidTokenPolicy: "fail" });
    const service = await DispatchService.start(config, recordingLogger());
    services.push(service);
    const health = await eventually(async () => {
      const h = service.health();
      return h.matcher.error ? h : undefined;
    }, "the matcher to stop");
    expect(health.status).toBe("degraded");
    expect(health.matcher.role).toBe("stopped");
    expect(health.matcher.error).toMatch(/cannot be resumed .*FC_STREAM_INVALID_TOKEN_POLICY=fail/);
    expect(service.metrics.value("fc_stream_resume_token_resets_total")).toBe(0);
    await insertEvents(db, 1);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await client.db(db).collection("dispatch_jobs").countDocuments()).toBe(0);
    expect(await savedToken(config)).toEqual(EXPIRED_TOKEN);
  });
});

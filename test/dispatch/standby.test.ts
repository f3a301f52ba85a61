// Two dispatch services on one FlowCatalyst database, resume tokens in Redis (FC_REDIS_URL): one matcher leads,
// the other waits on the lease and takes over from the saved token when the leader stops; every event gets
// its jobs exactly once across the hand-over.
import { ObjectId } from "mongodb";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESUME_TOKENS } from "../../src/dispatch/matcher.ts";
import { DispatchService } from "../../src/dispatch/service.ts";
import { silentLogger } from "../../src/runtime/log.ts";
import { useMongoDatabase } from "../support/mongo.ts";
import { testServices, uniqueName } from "../support/services.ts";
import { eventually, orderEvents, testConfig } from "./support.ts";

const mongo = useMongoDatabase("dispatch_standby");
const prefix = `${uniqueName("fc_standby")}:`;
const tokenKey = "flowcatalyst:stream:resume_token";
const services: DispatchService[] = [];

async function startService(): Promise<DispatchService> {
  const config = await testConfig(testServices().mongodbUri, mongo.db, {
    dispatcher: false,
    metricsPort: undefined,
    redisUrl: `${testServices().redisUrl}?prefix=${encodeURIComponent(prefix)}`,
    // Long enough that a loaded machine never lets the leader's lease lapse by accident; a closing leader
    // releases it, so the hand-over does not wait for it.
    leaseTtlMs: 5000,
  });
  const service = await DispatchService.start(config, silentLogger);
  services.push(service);
  return service;
}

const redis = createClient({ url: testServices().redisUrl });

beforeAll(async () => {
  await redis.connect();
  await mongo.client.db(mongo.db).collection("subscriptions").insertOne({
    _id: new ObjectId(),
    client_id: "acme",
    name: "all",
    event_type_pattern: "*:*:*:*",
    target: "http://127.0.0.1:9/hook",
    pool_code: "default",
    active: true,
  });
});

afterAll(async () => {
  for (const service of services) await service.close();
  for (const key of await redis.keys(`${prefix}*`)) await redis.del(key);
  await redis.quit();
});

const insertEvents = (n: number) => mongo.client.db(mongo.db).collection("events").insertMany(orderEvents(n));
const jobCount = () => mongo.client.db(mongo.db).collection("dispatch_jobs").countDocuments();

describe("matcher standby with resume tokens in Redis", () => {
  it("hands over to the standby, which resumes from the leader's token", async () => {
    const first = await startService();
    const second = await startService();
    const roles = () => [first.health().matcher.role, second.health().matcher.role].sort();
    await eventually(async () => roles().join() === "leader,standby", "one leader and one standby");
    const [leader, standby] = first.health().matcher.role === "leader" ? [first, second] : [second, first];

    await insertEvents(30);
    await eventually(async () => (await jobCount()) === 30, "the leader's jobs");
    await eventually(
      async () => (await redis.hGet(`${prefix}state:${RESUME_TOKENS}`, tokenKey)) !== null,
      "the resume token saved in Redis",
    );

    await leader.close();
    await insertEvents(20); // written while nobody leads: the standby must pick them up from the token
    await eventually(async () => standby.health().matcher.role === "leader", "the standby to lead", 20_000);
    await eventually(async () => (await jobCount()) === 50, "jobs for the events of the hand-over");
    // The 20 new events' jobs, all created by the new leader (counted once the batch's read models are
    // written; a replayed event would be read again, but its jobs already exist and are not counted).
    const stats = await eventually(async () => {
      const current = await standby.stats();
      return current.matcher.outputMessageCount === 20 ? current : undefined;
    }, "the new leader's stats");
    expect(stats.matcher.status).toBe("running");
    expect(stats.matcher.inputMessageCount).toBeGreaterThanOrEqual(20);
    expect(stats.jobs.PENDING).toBe(50);
    // Two services, two leases and a hand-over: up to ~27 s measured at load average 16 on 2 cores.
  }, 60_000);
});

// Delivery against local receivers: retries on 500s and timeouts, Retry-After, permanent 4xx, breakers, pool slots, leases.
import { ObjectId } from "mongodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  dispatchCollections,
  ensureIndexes,
  type DispatchCollections,
} from "../../src/dispatch/collections.ts";
import { Dispatcher, type DispatcherOptions } from "../../src/dispatch/dispatcher.ts";
import { JobStore } from "../../src/dispatch/job-store.ts";
import { Metrics } from "../../src/dispatch/metrics.ts";
import type { DispatchJob } from "../../src/dispatch/types.ts";
import { silentLogger } from "../../src/runtime/log.ts";
import { useMongoDatabase } from "../support/mongo.ts";
import { answer200, eventually, startReceiver, type Receiver } from "./support.ts";

const mongo = useMongoDatabase("dispatch_delivery");
let c: DispatchCollections;
let jobs: JobStore;
let receiver: Receiver;
const running: Dispatcher[] = [];

beforeAll(async () => {
  c = dispatchCollections(mongo.client.db(mongo.db));
  await ensureIndexes(c);
  jobs = new JobStore(c);
  receiver = await startReceiver();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
  receiver.respond(answer200);
});
afterAll(() => receiver?.close());

function dispatcher(overrides: Partial<DispatcherOptions> = {}): Dispatcher {
  const d = new Dispatcher({
    collections: c,
    jobs,
    owner: `test-${running.length}`,
    retry: { maxAttempts: 4, initialDelayMs: 50, multiplier: 2, maxDelayMs: 5000, jitter: 0.2 },
    breaker: { failureThreshold: 100, coolDownMs: 200 },
    poolConcurrency: 8,
    maxInFlight: 64,
    timeoutMs: 300,
    leaseMs: 30_000,
    pollIntervalMs: 20,
    metrics: new Metrics(),
    logger: silentLogger,
    ...overrides,
  });
  running.push(d);
  d.start();
  return d;
}

/** `count` events with one subscription each, targeting `path` on the receiver; returns the created jobs. */
async function seedJobs(path: string, count = 1, pool = "default"): Promise<DispatchJob[]> {
  const subscription = {
    _id: new ObjectId(),
    client_id: "acme",
    name: path,
    event_type_pattern: "*:*:*:*",
    target: `${receiver.url}${path}`,
    pool_code: pool,
    active: true,
  };
  await c.subscriptions.insertOne(subscription);
  const events = Array.from({ length: count }, (_, i) => ({
    _id: new ObjectId(),
    type: "a:b:c:d",
    client_id: "acme",
    data: { i },
  }));
  await c.events.insertMany(events);
  return jobs.create(
    events.map((e) => ({
      event_id: e._id,
      subscription_id: subscription._id,
      client_id: "acme",
      target: subscription.target,
      pool_code: pool,
    })),
  );
}

const setLeaseOwner = (id: string, owner: string) =>
  c.jobs.updateOne({ _id: id }, { $set: { lease_owner: owner } });
const hooksTo = (path: string) => receiver.received.filter((r) => r.path === path);
const finalState = (ids: string[]) =>
  eventually(async () => {
    const docs = await c.jobs.find({ _id: { $in: ids } }).toArray();
    return docs.length === ids.length && docs.every((d) => ["DELIVERED", "FAILED"].includes(d.status))
      ? docs
      : undefined;
  }, "jobs to finish");

describe("delivery", () => {
  it("retries 500s with the same webhook-id until the receiver accepts", async () => {
    let calls = 0;
    receiver.respond((req, res) => res.writeHead(req.path === "/flaky" && ++calls <= 2 ? 500 : 200).end());
    const [job] = await seedJobs("/flaky");
    dispatcher();
    const [done] = await finalState([job._id]);
    expect(done).toMatchObject({ status: "DELIVERED", attempts: 3, last_error: null, last_status_code: 200 });
    const hooks = hooksTo("/flaky");
    expect(hooks).toHaveLength(3);
    expect(new Set(hooks.map((h) => h.headers["webhook-id"]))).toEqual(new Set([job._id]));
  });

  it("fails after the last attempt with the last error", async () => {
    receiver.respond((req, res) => res.writeHead(req.path === "/down" ? 503 : 200).end());
    const [job] = await seedJobs("/down");
    dispatcher();
    const [done] = await finalState([job._id]);
    expect(done.status).toBe("FAILED");
    expect(done.attempts).toBe(4);
    expect(done.last_error).toMatch(/HTTP 503 .*gave up after 4 attempts/);
  });

  it("fails a 4xx at once but retries 408/409/425/429", async () => {
    receiver.respond((req, res) => {
      if (req.path === "/gone") res.writeHead(410).end();
      else if (req.path === "/conflict") res.writeHead(hooksTo("/conflict").length === 1 ? 409 : 204).end();
      else res.writeHead(200).end();
    });
    const [gone] = await seedJobs("/gone");
    const [conflict] = await seedJobs("/conflict");
    dispatcher();
    const done = await finalState([gone._id, conflict._id]);
    const byId = new Map(done.map((d) => [d._id, d]));
    expect(byId.get(gone._id)).toMatchObject({ status: "FAILED", attempts: 1, last_status_code: 410 });
    expect(byId.get(gone._id)?.last_error).toMatch(/HTTP 410/);
    expect(byId.get(conflict._id)).toMatchObject({ status: "DELIVERED", attempts: 2 });
  });

  it("retries after a timeout", async () => {
    receiver.respond((req, res) => {
      if (req.path === "/slow" && hooksTo("/slow").length === 1) return; // never answers the first attempt
      res.writeHead(200).end();
    });
    const [job] = await seedJobs("/slow");
    dispatcher();
    const [done] = await finalState([job._id]);
    expect(done).toMatchObject({ status: "DELIVERED", attempts: 2 });
    expect(hooksTo("/slow").map((h) => h.headers["webhook-id"])).toEqual([job._id, job._id]);
  });

  it("waits as long as a 429's Retry-After says", async () => {
    receiver.respond((req, res) => {
      if (req.path === "/limited" && hooksTo("/limited").length === 1)
        res.writeHead(429, { "Retry-After": "1" }).end();
      else res.writeHead(200).end();
    });
    const [job] = await seedJobs("/limited");
    dispatcher();
    const [done] = await finalState([job._id]);
    expect(done).toMatchObject({ status: "DELIVERED", attempts: 2 });
    const [first, second] = hooksTo("/limited");
    // Without Retry-After the back-off would be ~50 ms.
    expect(second.at - first.at).toBeGreaterThanOrEqual(950);
  });

  it("opens a target's breaker after repeated failures and closes it after a successful probe", async () => {
    let healthy = false;
    receiver.respond((req, res) => res.writeHead(req.path === "/breaker" && !healthy ? 500 : 200).end());
    const seeded = await seedJobs("/breaker", 20);
    const metrics = new Metrics();
    const d = dispatcher({
      breaker: { failureThreshold: 3, coolDownMs: 300 },
      poolConcurrency: 1,
      retry: { maxAttempts: 50, initialDelayMs: 20, multiplier: 1, maxDelayMs: 20, jitter: 0 },
      metrics,
    });
    await eventually(
      async () => d.breakers.state(new URL(receiver.url).origin) === "OPEN",
      "the breaker to open",
    );
    const duringOpen = hooksTo("/breaker").length;
    await eventually(
      async () => metrics.value("fc_dispatch_outcomes_total", { outcome: "breaker_open" }) > 5,
      "deferred deliveries",
    );
    // Open: deliveries are deferred, not attempted (at most the cool-down's probe gets through).
    expect(hooksTo("/breaker").length).toBeLessThanOrEqual(duringOpen + 1);
    expect(metrics.value("fc_dispatch_breakers_open")).toBe(1);
    healthy = true;
    await finalState(seeded.map((j) => j._id));
    expect(d.breakers.state(new URL(receiver.url).origin)).toBe("CLOSED");
    expect(metrics.value("fc_dispatch_breakers_open")).toBe(0);
    const docs = await c.jobs.find({ _id: { $in: seeded.map((j) => j._id) } }).toArray();
    expect(docs.every((j) => j.status === "DELIVERED")).toBe(true);
  });

  it("keeps a slow pool from starving another", async () => {
    const release: Array<() => void> = [];
    receiver.respond((req, res) => {
      if (req.path === "/slow-pool") release.push(() => res.writeHead(200).end());
      else res.writeHead(200).end();
    });
    const slow = await seedJobs("/slow-pool", 10, "slow");
    const fast = await seedJobs("/fast-pool", 10, "fast");
    dispatcher({ poolLimits: { slow: 2 }, timeoutMs: 5000, leaseMs: 10_000 });
    await finalState(fast.map((j) => j._id));
    // All fast jobs went through while the slow pool held only its 2 slots.
    expect(release).toHaveLength(2);
    expect(await c.jobs.countDocuments({ _id: { $in: slow.map((j) => j._id) }, status: "DELIVERED" })).toBe(
      0,
    );
    const timer = setInterval(() => release.splice(0).forEach((r) => r()), 10);
    await finalState(slow.map((j) => j._id));
    clearInterval(timer);
  });

  it("two dispatchers never deliver the same job", async () => {
    const seeded = await seedJobs("/shared", 200);
    // A long timeout: a slow answer must not count as a failed attempt (its retry would be a legitimate second POST).
    dispatcher({ owner: "one", timeoutMs: 10_000 });
    dispatcher({ owner: "two", timeoutMs: 10_000 });
    const done = await finalState(seeded.map((j) => j._id));
    expect(done.every((j) => j.attempts === 1)).toBe(true);
    const ids = hooksTo("/shared").map((h) => String(h.headers["webhook-id"]));
    expect(ids).toHaveLength(200);
    expect(new Set(ids).size).toBe(200);
  });

  it("records each result only while the job still carries its claim", async () => {
    const seeded = await seedJobs("/record", 4);
    const ids = seeded.map((j) => j._id);
    const claimed = await jobs.claim("recorder", 10, 30_000);
    const mine = claimed.filter((c) => ids.includes(c.job._id));
    expect(mine).toHaveLength(4);
    const [first, retried, second, foreign] = ids.map((id) => {
      const found = mine.find((m) => m.job._id === id);
      if (!found) throw new Error(`job ${id} not claimed`);
      return found;
    });
    const at = new Date();
    // `foreign` was taken by another claim meanwhile: a result of the old claim must not reach it.
    await setLeaseOwner(foreign.job._id, "someone-else");
    const recorded = await jobs.record([
      { claimed: first, result: { status: "DELIVERED", statusCode: 200 }, at },
      {
        claimed: retried,
        result: { status: "RETRY", scheduledAt: new Date(Date.now() + 60_000), error: "HTTP 503" },
        at,
      },
      { claimed: second, result: { status: "DELIVERED", statusCode: 200 }, at },
      { claimed: foreign, result: { status: "DELIVERED", statusCode: 200 }, at },
    ]);
    expect(recorded).toBe(3);
    const docs = new Map((await c.jobs.find({ _id: { $in: ids } }).toArray()).map((j) => [j._id, j]));
    expect(docs.get(first.job._id)).toMatchObject({ status: "DELIVERED", attempts: 1, lease_owner: null });
    expect(docs.get(retried.job._id)).toMatchObject({ status: "RETRY", attempts: 1, last_error: "HTTP 503" });
    expect(docs.get(second.job._id)).toMatchObject({ status: "DELIVERED", attempts: 1 });
    expect(docs.get(foreign.job._id)).toMatchObject({
      status: "IN_PROGRESS",
      attempts: 0,
      lease_owner: "someone-else",
    });
  });

  it("gives each job to one of two overlapping claims of the same jobs", async () => {
    const seeded = await seedJobs("/overlap", 50);
    const [one, two] = await Promise.all([
      jobs.take("claimer-1", seeded, 30_000),
      jobs.take("claimer-2", seeded, 30_000),
    ]);
    const taken = [...one, ...two].map((c) => c.job._id);
    expect(taken.sort()).toEqual(seeded.map((j) => j._id).sort());
    const docs = new Map((await c.jobs.find({ _id: { $in: taken } }).toArray()).map((j) => [j._id, j]));
    for (const claimed of [...one, ...two]) {
      expect(docs.get(claimed.job._id)).toMatchObject({ status: "IN_PROGRESS", lease_owner: claimed.claim });
    }
    // Taken jobs are no longer due: a third claim of the same jobs gets none.
    expect(await jobs.take("claimer-3", seeded, 30_000)).toEqual([]);
  });

  it("lets operators list, cancel and retry jobs", async () => {
    receiver.respond((req, res) => res.writeHead(req.path === "/ops" ? 400 : 200).end());
    const [failed] = await seedJobs("/ops");
    dispatcher();
    await finalState([failed._id]);
    expect(
      (await jobs.list({ status: "failed", subscriptionId: String(failed.subscription_id) })).map(
        (j) => j._id,
      ),
    ).toEqual([failed._id]);
    await expect(jobs.cancel(failed._id)).rejects.toThrow(/is FAILED; only PENDING, RETRY, IN_PROGRESS/);
    await expect(jobs.retry("nope")).rejects.toThrow(/no dispatch job 'nope'/);
    await expect(jobs.list({ status: "LOST" })).rejects.toThrow(/status must be one of/);
    receiver.respond(answer200);
    const retried = await jobs.retry(failed._id);
    expect(retried).toMatchObject({ status: "PENDING", attempts: 0 });
    const [done] = await finalState([failed._id]);
    expect(done.status).toBe("DELIVERED");
    expect(hooksTo("/ops").map((h) => h.headers["webhook-id"])).toEqual([failed._id, failed._id]);

    const [later] = await seedJobs("/never");
    await c.jobs.updateOne({ _id: later._id }, { $set: { scheduled_at: new Date(Date.now() + 60_000) } });
    expect(await jobs.cancel(later._id)).toMatchObject({ status: "CANCELLED" });
  });
});

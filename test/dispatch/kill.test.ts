// kill -9 of the matcher and of the dispatcher mid-stream (examples/event-dispatch/run.ts as a child process):
// no job lost, none created twice, and a redelivered webhook carries the job's webhook-id.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useMongoDatabase } from "../support/mongo.ts";
import { testServices } from "../support/services.ts";
import { eventually, ordersSubscription, startReceiver, type Receiver } from "./support.ts";

const RUN = resolve(import.meta.dirname, "../../examples/event-dispatch/run.ts");
const mongo = useMongoDatabase("dispatch_kill");
const children = new Set<ChildProcess>();
let receiver: Receiver;
let dataDir: string;

beforeAll(async () => {
  receiver = await startReceiver();
  dataDir = await mkdtemp(join(tmpdir(), "eddy-dispatch-kill-"));
});
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await receiver?.close();
});

/** Starts run.ts with `env` and resolves once it printed its start line. */
async function startService(env: Record<string, string>): Promise<ChildProcess> {
  const { child, metrics } = await spawnService(env);
  if (env.FC_DISPATCHER_ENABLED === "false") {
    await eventually(async () => {
      const health = (await (await fetch(`${metrics}/health`)).json()) as {
        matcher: { role: string; changeStreamConnected: boolean };
      };
      return health.matcher.role === "leader" && health.matcher.changeStreamConnected;
    }, "the matcher to lead");
  }
  return child;
}

async function spawnService(env: Record<string, string>): Promise<{ child: ChildProcess; metrics: string }> {
  const child = spawn(process.execPath, [RUN], {
    env: {
      ...process.env,
      FC_MONGO_URL: testServices().mongodbUri,
      FC_MONGO_DB: mongo.db,
      FC_METRICS_PORT: "0",
      FC_DATA_DIR: dataDir,
      FC_LEASE_TTL_MS: "4000",
      FC_DISPATCH_POLL_MS: "20",
      FC_DISPATCH_TIMEOUT_MS: "1000",
      FC_DISPATCH_LEASE_MS: "3000",
      FC_STREAM_BATCH_SIZE: "20",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += String(chunk);
    if (process.env.DISPATCH_TEST_LOG) process.stderr.write(chunk);
  });
  const metrics = await new Promise<string>((resolveStarted, reject) => {
    child.stdout?.once("data", (line) =>
      resolveStarted((JSON.parse(String(line)) as { metrics: string }).metrics),
    );
    child.once("exit", (code) => reject(new Error(`run.ts exited with ${code}: ${stderr}`)));
  });
  return { child, metrics };
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    child.once("exit", () => done());
    child.kill("SIGKILL");
  });
}

const EVENTS = 400;
const eventIds: ObjectId[] = [];

describe("kill -9", () => {
  it("of the matcher mid-stream loses no job and creates none twice", async () => {
    const db = mongo.client.db(mongo.db);
    await db.collection("subscriptions").insertMany(
      ["a", "b"].map((name) =>
        ordersSubscription(name, receiver.url, {
          secret: "whsec_" + Buffer.from(`secret-${name}-0123456789`).toString("base64"),
        }),
      ),
    );
    let matcher = await startService({ FC_DISPATCHER_ENABLED: "false" });
    let inserted = 0;
    let killed!: () => void;
    const afterKill = new Promise<void>((resolve) => (killed = resolve));
    const writer = (async () => {
      while (inserted < EVENTS) {
        // The last quarter waits for the kill, so the matcher always dies with events still to come.
        if (inserted === EVENTS * 0.75) await afterKill;
        const batch = Array.from({ length: 10 }, () => {
          const _id = new ObjectId();
          eventIds.push(_id);
          return {
            _id,
            type: "orders:fulfillment:shipment:shipped",
            client_id: "acme",
            data: { n: inserted },
          };
        });
        await db.collection("events").insertMany(batch);
        inserted += batch.length;
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    await eventually(
      async () => (await db.collection("dispatch_jobs").countDocuments()) >= 150,
      "jobs before the kill",
    );
    await kill(matcher);
    killed();
    matcher = await startService({ FC_DISPATCHER_ENABLED: "false" });
    await writer;
    await eventually(
      async () => {
        return (await db.collection("dispatch_jobs").countDocuments()) === EVENTS * 2;
      },
      "every event's two jobs",
      60_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    const jobs = await db.collection("dispatch_jobs").find({}).toArray();
    expect(jobs).toHaveLength(EVENTS * 2);
    const pairs = new Set(jobs.map((j) => `${String(j.event_id)}|${String(j.subscription_id)}`));
    expect(pairs.size).toBe(EVENTS * 2);
    const perEvent = new Map<string, number>();
    for (const j of jobs) perEvent.set(String(j.event_id), (perEvent.get(String(j.event_id)) ?? 0) + 1);
    expect(eventIds.every((id) => perEvent.get(String(id)) === 2)).toBe(true);
    await kill(matcher);
  }, 120_000);

  it("of the dispatcher mid-delivery redelivers with the same webhook-id and loses nothing", async () => {
    const db = mongo.client.db(mongo.db);
    // From the 200th webhook on the receiver holds its answers, so deliveries are in flight at the kill.
    receiver.respond((_req, res) => {
      if (receiver.received.length < 200) setTimeout(() => res.writeHead(200).end(), 30);
    });
    let dispatcher = await startService({ FC_MATCHER_ENABLED: "false" });
    await eventually(async () => receiver.received.length > 200, "deliveries before the kill", 60_000);
    await kill(dispatcher);
    receiver.respond((_req, res) => setTimeout(() => res.writeHead(200).end(), 30));
    dispatcher = await startService({ FC_MATCHER_ENABLED: "false" });
    await eventually(
      async () =>
        (await db.collection("dispatch_jobs").countDocuments({ status: "DELIVERED" })) === EVENTS * 2,
      "every job delivered",
      90_000,
    );
    await kill(dispatcher);
    const jobs = await db.collection("dispatch_jobs").find({}).toArray();
    const idsByJob = new Map<string, Set<string>>();
    for (const hook of receiver.received) {
      const key = `${JSON.parse(hook.body).id as string}${hook.path}`;
      const ids = idsByJob.get(key) ?? new Set();
      ids.add(String(hook.headers["webhook-id"]));
      idsByJob.set(key, ids);
    }
    // Every job was received, always under its own id as webhook-id.
    for (const job of jobs) {
      const path = String(job.target).slice(receiver.url.length);
      expect(idsByJob.get(`${String(job.event_id)}${path}`)).toEqual(new Set([String(job._id)]));
    }
    const receipts = new Map<string, number>();
    for (const hook of receiver.received) {
      const id = String(hook.headers["webhook-id"]);
      receipts.set(id, (receipts.get(id) ?? 0) + 1);
    }
    // The deliveries in flight at the kill were sent again after their lease expired.
    expect([...receipts.values()].some((n) => n > 1)).toBe(true);
    expect(receipts.size).toBe(EVENTS * 2);
  }, 150_000);

  it.each([
    { mode: "offers (default)", client: "globex", env: {} as Record<string, string> },
    { mode: "hand-over at insert", client: "initech", env: { FC_DISPATCH_HANDOFF: "true" } },
  ])(
    "of a matcher + dispatcher process ($mode) redelivers the jobs it had claimed, after their lease",
    async ({ client, env }) => {
      const db = mongo.client.db(mongo.db);
      // The client has one subscription of its own: its jobs are this test's alone.
      const subscription = { ...ordersSubscription(client, receiver.url), client_id: client };
      await db.collection("subscriptions").insertOne(subscription);
      const hooks = () => receiver.received.filter((r) => r.path === `/${client}`);
      receiver.respond((_req, res) => setTimeout(() => res.writeHead(200).end(), 300));
      let service = await startService(env);
      const events = Array.from({ length: 100 }, (_, i) => ({
        _id: new ObjectId(),
        type: "orders:fulfillment:shipment:shipped",
        client_id: client,
        data: { i },
      }));
      await db.collection("events").insertMany(events);
      await eventually(async () => hooks().length >= 40, "deliveries before the kill", 60_000);
      await kill(service);
      const claimed = await db
        .collection("dispatch_jobs")
        .countDocuments({ subscription_id: subscription._id, status: "IN_PROGRESS" });
      service = await startService(env);
      const jobs = await eventually(
        async () => {
          const all = await db
            .collection("dispatch_jobs")
            .find({ subscription_id: subscription._id })
            .toArray();
          return all.length === events.length && all.every((j) => j.status === "DELIVERED") ? all : undefined;
        },
        "every job delivered",
        90_000,
      );
      await kill(service);
      // The process that died held claims on some jobs, and none was lost.
      expect(claimed).toBeGreaterThan(0);
      const receipts = new Map<string, number>();
      for (const hook of hooks()) {
        const id = String(hook.headers["webhook-id"]);
        receipts.set(id, (receipts.get(id) ?? 0) + 1);
      }
      expect(new Set(receipts.keys())).toEqual(new Set(jobs.map((j) => String(j._id))));
      expect([...receipts.values()].some((n) => n > 1)).toBe(true);
    },
    150_000,
  );
});

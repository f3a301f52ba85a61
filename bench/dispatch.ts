/**
 * Event-dispatch benchmark.
 *
 *   npm run bench:dispatch            table
 *   npm run bench:dispatch -- --json  one JSON object with every figure
 *   MONGODB_URI=mongodb://…  npm run bench:dispatch   (a real MongoDB for the end-to-end part)
 *
 * Sizes: --match-events N (default 100,000), --posts N (10,000), --events N (300 events → 3,000 webhooks),
 * --warmup-events N (100: delivered end to end before the measured events, not counted),
 * --timeout-s N (120: the end-to-end part stops waiting after this long, or after 20 s without a delivery,
 * and reports `"complete": false` with what it measured, instead of hanging on a loaded machine).
 * Without MONGODB_URI the end-to-end part starts a private MongoDB stand-in (in memory, empty oplog) and
 * stops it after: the shared test stand-in's change streams scan every test's oplog entries, which measures
 * the other processes on the machine more than event dispatch.
 *
 * 1. Matching: 10,000 subscriptions (500 clients × 20 patterns mixing literals and `*`, some with a payload
 *    filter) in the SubscriptionIndex; events of random types and clients matched in memory. Baseline in the
 *    same run: a linear scan testing every subscription's pattern segments and filter (what matching without
 *    an index costs).
 * 2. Delivery path: signing + POST of webhooks through the dispatcher's HTTP client to a local receiver that
 *    answers 200 at once, 256 in flight. Baseline in the same run: bare node:http POSTs with the same agent
 *    settings and concurrency (no signing, no bookkeeping).
 * 3. End to end: events inserted into MongoDB → matcher (change stream) → dispatch jobs → dispatcher →
 *    local receiver; 10 subscriptions per event type. `eventsPerSec` counts events turned into jobs, from
 *    the first insert until the last job exists; `deliveriesPerSec` distinct webhooks received, from the
 *    first insert to the last receipt; `p99DeliveryMs` is insert → receipt per webhook.
 */
import { createServer, Agent, request } from "node:http";
import type { AddressInfo } from "node:net";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient, ObjectId } from "mongodb";
import { startPrivateMongo, type PrivateMongo } from "../scripts/services/private.ts";
import { dispatchConfigFromEnv } from "../src/dispatch/config.ts";
import { WebhookPoster } from "../src/dispatch/http-post.ts";
import { DispatchService } from "../src/dispatch/service.ts";
import { secretKey, webhookHeaders } from "../src/dispatch/signing.ts";
import { SubscriptionIndex } from "../src/dispatch/subscription-index.ts";
import type { EventDoc, SubscriptionDoc } from "../src/dispatch/types.ts";
import { compileQuery } from "../src/mql/index.ts";
import { silentLogger } from "../src/runtime/log.ts";

const json = process.argv.includes("--json");
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SUBSCRIPTIONS = 10_000;
const MATCH_EVENTS = arg("match-events", 100_000);
const E2E_EVENTS = arg("events", 300);
const E2E_WARMUP_EVENTS = arg("warmup-events", 100);
const SUBS_PER_TYPE = 10;
const DELIVERY_POSTS = arg("posts", 10_000);
const E2E_TIMEOUT_MS = arg("timeout-s", 120) * 1000;
const STALL_MS = 20_000;
const IN_FLIGHT = 256;
const SECRET = "whsec_" + Buffer.from("bench-secret-0123456789abcdef").toString("base64");

// A deterministic generator, so both matchers see the same subscriptions and events.
let seed = 42;
const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
const VOCAB = [
  ["orders", "inventory", "payments", "users", "shipping"],
  ["fulfillment", "billing", "stock", "profile", "returns", "audit"],
  ["shipment", "invoice", "item", "account", "label", "refund", "order"],
  ["created", "updated", "shipped", "paid", "deleted", "failed", "low"],
];

function subscriptions(): SubscriptionDoc[] {
  const subs: SubscriptionDoc[] = [];
  for (let i = 0; i < SUBSCRIPTIONS; i++) {
    const pattern = VOCAB.map((words) => (random() < 0.35 ? "*" : pick(words))).join(":");
    subs.push({
      _id: `s${i}`,
      client_id: `c${i % 500}`,
      name: `s${i}`,
      event_type_pattern: pattern,
      target: "http://127.0.0.1:1/hook",
      pool_code: "default",
      active: true,
      ...(i % 10 === 0 ? { filters: { "data.amount": { $gte: 50 } } } : {}),
    });
  }
  return subs;
}

function events(n: number): EventDoc[] {
  return Array.from({ length: n }, (_, i) => ({
    _id: `e${i}`,
    type: VOCAB.map(pick).join(":"),
    client_id: `c${Math.floor(random() * 500)}`,
    data: { amount: Math.floor(random() * 100) },
  }));
}

function benchMatching(): { indexed: number; scan: number; matches: number } {
  const subs = subscriptions();
  const evs = events(MATCH_EVENTS);
  const index = new SubscriptionIndex();
  for (const s of subs) index.apply(s);
  const scanList = subs.map((s) => ({
    client: s.client_id,
    segments: s.event_type_pattern.split(":"),
    filter: s.filters ? compileQuery(s.filters) : undefined,
  }));
  const scanMatch = (e: EventDoc): number => {
    const type = e.type.split(":");
    let n = 0;
    for (const s of scanList) {
      if (s.client !== e.client_id) continue;
      if (s.segments.every((seg, i) => seg === "*" || seg === type[i]) && (!s.filter || s.filter(e as never)))
        n++;
    }
    return n;
  };
  let matches = 0;
  let t = performance.now();
  for (const e of evs) matches += index.match(e).length;
  const indexed = evs.length / ((performance.now() - t) / 1000);
  const scanEvents = evs.slice(0, Math.min(evs.length, 20_000));
  let check = 0;
  t = performance.now();
  for (const e of scanEvents) check += scanMatch(e);
  const scan = scanEvents.length / ((performance.now() - t) / 1000);
  const indexedCheck = scanEvents.reduce((n, e) => n + index.match(e).length, 0);
  if (check !== indexedCheck) throw new Error(`index and scan disagree: ${indexedCheck} vs ${check}`);
  return { indexed, scan, matches };
}

async function receiver(
  onRequest: (body: string, webhookId: string) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      onRequest(Buffer.concat(chunks).toString(), String(req.headers["webhook-id"]));
      res.writeHead(200).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function runConcurrently(n: number, send: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < n) await send(next++);
    }),
  );
  return n / ((performance.now() - t) / 1000);
}

async function benchDeliveryPath(): Promise<{ signed: number; raw: number }> {
  const rx = await receiver(() => {});
  const poster = new WebhookPoster(IN_FLIGHT);
  const key = secretKey(SECRET);
  const body = JSON.stringify({ id: "e", type: "orders:fulfillment:shipment:shipped", data: { amount: 10 } });
  await runConcurrently(1000, (i) => poster.post(rx.url, body, webhookHeaders(key, `w${i}`, body), 60_000));
  const signed = await runConcurrently(DELIVERY_POSTS, (i) =>
    poster.post(rx.url, body, webhookHeaders(key, `w${i}`, body), 60_000),
  );
  poster.close();
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const rawPost = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request(
        rx.url,
        {
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.once("end", resolve);
        },
      );
      req.once("error", reject);
      req.end(body);
    });
  await runConcurrently(1000, rawPost);
  const raw = await runConcurrently(DELIVERY_POSTS, rawPost);
  agent.destroy();
  await rx.close();
  return { signed, raw };
}

interface EndToEnd {
  readonly eventsPerSec: number;
  readonly deliveriesPerSec: number;
  readonly p99DeliveryMs: number;
  /** Distinct webhook-ids received (redeliveries counted once). */
  readonly deliveries: number;
  readonly complete: boolean;
  /** From the first insert until the matcher had created every job. */
  readonly allJobsCreatedMs: number | null;
  readonly mongo: string;
  /** CPU time per delivery in the measured part: this process (dispatch and the receiver) and the private stand-in. */
  readonly nodeCpuMsPerDelivery: number;
  readonly standInCpuMsPerDelivery: number | null;
  /** Of that, the stand-in's request-serving threads (no JIT compiler, no garbage collector). */
  readonly standInWorkerCpuMsPerDelivery: number | null;
}

/**
 * CPU time (ms) used so far by this process's descendant `java` processes (the private stand-in), from
 * /proc (Linux; 0 elsewhere): all of it, and its request-serving threads alone (`mongo-server-worker*`; the
 * rest is the JIT compiler, which runs longer on a loaded machine, and the garbage collector). CPU time
 * depends far less on how loaded the machine is than wall-clock rates do.
 */
function childJavaCpuMs(): { total: number; workers: number } {
  try {
    const procs = new Map<string, { ppid: string; comm: string; ticks: number }>();
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        procs.set(pid, { ppid: fields[1], comm, ticks: Number(fields[11]) + Number(fields[12]) });
      } catch {
        // the process ended meanwhile
      }
    }
    const mine = new Set([String(process.pid)]);
    for (let grew = true; grew;) {
      grew = false;
      for (const [pid, p] of procs)
        if (!mine.has(pid) && mine.has(p.ppid)) {
          mine.add(pid);
          grew = true;
        }
    }
    let ticks = 0;
    let workerTicks = 0;
    for (const [pid, p] of procs) {
      if (!mine.has(pid) || p.comm !== "java") continue;
      ticks += p.ticks;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        if (!stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).startsWith("mongo-server-wo")) continue;
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        workerTicks += Number(fields[11]) + Number(fields[12]);
      }
    }
    return { total: ticks * 10, workers: workerTicks * 10 }; // USER_HZ = 100 on Linux
  } catch {
    return { total: 0, workers: 0 };
  }
}

async function benchEndToEnd(): Promise<EndToEnd> {
  let privateMongo: PrivateMongo | undefined;
  if (!process.env.MONGODB_URI) privateMongo = await startPrivateMongo({ persistent: false });
  try {
    return await endToEnd(process.env.MONGODB_URI ?? (privateMongo as PrivateMongo).uri);
  } finally {
    await privateMongo?.dispose();
  }
}

async function endToEnd(uri: string): Promise<EndToEnd> {
  const db = `bench_dispatch_${Date.now().toString(36)}`;
  const client = await new MongoClient(uri, { serverSelectionTimeoutMS: 5000 }).connect();
  const latencies: number[] = [];
  const delivered = new Set<string>();
  let lastReceipt = 0;
  const warmupDelivered = new Set<string>();
  const rx = await receiver((body, webhookId) => {
    const { data } = JSON.parse(body) as { data: { sentAt: number; warmup?: boolean } };
    if (data.warmup) {
      warmupDelivered.add(webhookId);
      return;
    }
    if (delivered.has(webhookId)) return;
    delivered.add(webhookId);
    const sentAt = data.sentAt;
    lastReceipt = Date.now();
    latencies.push(lastReceipt - sentAt);
  });
  const types = [
    "orders:fulfillment:shipment:shipped",
    "orders:billing:invoice:paid",
    "inventory:stock:item:low",
  ];
  const subs = types.flatMap((type) =>
    Array.from({ length: SUBS_PER_TYPE }, (_, i) => ({
      _id: new ObjectId(),
      client_id: "acme",
      name: `${type}-${i}`,
      event_type_pattern: type,
      target: rx.url,
      pool_code: `pool${i % 4}`,
      active: true,
      secret: SECRET,
    })),
  );
  await client.db(db).collection("subscriptions").insertMany(subs);
  const service = await DispatchService.start(
    {
      ...dispatchConfigFromEnv({
        FC_MONGO_URL: uri,
        FC_MONGO_DB: db,
        FC_METRICS_PORT: "off",
        FC_DATA_DIR: await mkdtemp(join(tmpdir(), "bench-dispatch-")),
        // FC_DISPATCH_OFFER_NEW_JOBS=false measures the dispatcher without the matcher's offers (polls only),
        // FC_DISPATCH_HANDOFF=true with the opt-in hand-over at insert.
        FC_DISPATCH_OFFER_NEW_JOBS: process.env.FC_DISPATCH_OFFER_NEW_JOBS,
        FC_DISPATCH_HANDOFF: process.env.FC_DISPATCH_HANDOFF,
      }),
      poolConcurrency: 64,
    },
    silentLogger,
  );
  const insertEvents = async (n: number, warmup: boolean): Promise<void> => {
    for (let i = 0; i < n; i += 100) {
      const batch = Array.from({ length: Math.min(100, n - i) }, (_, j) => ({
        _id: new ObjectId(),
        type: types[(i + j) % types.length],
        client_id: "acme",
        data: { sentAt: Date.now(), n: i + j, ...(warmup ? { warmup } : {}) },
      }));
      await client.db(db).collection("events").insertMany(batch);
    }
  };
  // Warm-up: the same path for a few events first, not measured. The stand-in is a JVM whose first
  // thousands of operations run before its JIT compiler has caught up; a real MongoDB has no such phase.
  if (E2E_WARMUP_EVENTS > 0) {
    await insertEvents(E2E_WARMUP_EVENTS, true);
    const warmDeadline = Date.now() + E2E_TIMEOUT_MS;
    while (warmupDelivered.size < E2E_WARMUP_EVENTS * SUBS_PER_TYPE && Date.now() < warmDeadline)
      await new Promise((r) => setTimeout(r, 20));
  }
  const warmupJobs = service.metrics.total("fc_stream_dispatch_jobs_created_total");
  const cpuBefore = { node: process.cpuUsage(), standIn: childJavaCpuMs() };
  const expected = E2E_EVENTS * SUBS_PER_TYPE;
  const started = Date.now();
  await insertEvents(E2E_EVENTS, false);
  const deadline = started + E2E_TIMEOUT_MS;
  /** When the matcher had created every job. */
  let jobsAt = 0;
  while (
    delivered.size < expected &&
    Date.now() < deadline &&
    Date.now() - (lastReceipt || started) < STALL_MS
  ) {
    await new Promise((r) => setTimeout(r, 20));
    if (
      jobsAt === 0 &&
      service.metrics.total("fc_stream_dispatch_jobs_created_total") - warmupJobs >= expected
    )
      jobsAt = Date.now();
  }
  const seconds = Math.max(0.001, ((lastReceipt || Date.now()) - started) / 1000);
  const nodeCpu = process.cpuUsage(cpuBefore.node);
  const standInAfter = childJavaCpuMs();
  const standInCpuMs = standInAfter.total - cpuBefore.standIn.total;
  const standInWorkerCpuMs = standInAfter.workers - cpuBefore.standIn.workers;
  const jobsCreated = service.metrics.total("fc_stream_dispatch_jobs_created_total") - warmupJobs;
  await service.close();
  await rx.close();
  await client.db(db).dropDatabase();
  await client.close();
  latencies.sort((a, b) => a - b);
  return {
    eventsPerSec: jobsCreated / SUBS_PER_TYPE / (jobsAt > 0 ? (jobsAt - started) / 1000 : seconds),
    deliveriesPerSec: delivered.size / seconds,
    p99DeliveryMs: latencies[Math.floor(latencies.length * 0.99)] ?? NaN,
    deliveries: delivered.size,
    complete: delivered.size === expected,
    allJobsCreatedMs: jobsAt > 0 ? jobsAt - started : null,
    mongo: process.env.MONGODB_URI ? "MONGODB_URI" : "private stand-in (mongo-java-server, in memory)",
    nodeCpuMsPerDelivery: (nodeCpu.user + nodeCpu.system) / 1000 / Math.max(1, delivered.size),
    standInCpuMsPerDelivery:
      process.env.MONGODB_URI || standInCpuMs <= 0 ? null : standInCpuMs / Math.max(1, delivered.size),
    standInWorkerCpuMsPerDelivery:
      process.env.MONGODB_URI || standInWorkerCpuMs <= 0
        ? null
        : standInWorkerCpuMs / Math.max(1, delivered.size),
  };
}

const matching = benchMatching();
const delivery = await benchDeliveryPath();
const e2e = await benchEndToEnd();
const result = {
  eventsPerSec: Math.round(e2e.eventsPerSec),
  deliveriesPerSec: Math.round(e2e.deliveriesPerSec),
  p99DeliveryMs: e2e.p99DeliveryMs,
  endToEndEvents: E2E_EVENTS,
  endToEndDeliveries: e2e.deliveries,
  complete: e2e.complete,
  allJobsCreatedMs: e2e.allJobsCreatedMs,
  mongo: e2e.mongo,
  subscriptions: SUBSCRIPTIONS,
  matchEventsPerSec: Math.round(matching.indexed),
  matchScanBaselineEventsPerSec: Math.round(matching.scan),
  matchSpeedupVsScan: Math.round((matching.indexed / matching.scan) * 10) / 10,
  deliveryPathPerSec: Math.round(delivery.signed),
  rawPostBaselinePerSec: Math.round(delivery.raw),
  deliveryPathVsRawPost: Math.round((delivery.signed / delivery.raw) * 100) / 100,
  /** End-to-end deliveries against the same run's bare POST rate: comparable across machine loads. */
  deliveriesVsRawPost: Math.round((e2e.deliveriesPerSec / delivery.raw) * 1000) / 1000,
  nodeCpuMsPerDelivery: Math.round(e2e.nodeCpuMsPerDelivery * 1000) / 1000,
  standInCpuMsPerDelivery:
    e2e.standInCpuMsPerDelivery === null ? null : Math.round(e2e.standInCpuMsPerDelivery * 1000) / 1000,
  standInWorkerCpuMsPerDelivery:
    e2e.standInWorkerCpuMsPerDelivery === null
      ? null
      : Math.round(e2e.standInWorkerCpuMsPerDelivery * 1000) / 1000,
};
if (json) console.log(JSON.stringify(result));
else {
  console.log(
    `matching, ${SUBSCRIPTIONS} subscriptions: ${result.matchEventsPerSec} events/s indexed vs ${result.matchScanBaselineEventsPerSec} scanning (${result.matchSpeedupVsScan}×)`,
  );
  console.log(
    `delivery path (sign + POST, ${IN_FLIGHT} in flight): ${result.deliveryPathPerSec}/s vs bare POST ${result.rawPostBaselinePerSec}/s (${result.deliveryPathVsRawPost}×)`,
  );
  console.log(
    `end to end on ${result.mongo}: CPU per delivery ${result.nodeCpuMsPerDelivery} ms here + ${result.standInCpuMsPerDelivery ?? "?"} ms in the stand-in (${result.standInWorkerCpuMsPerDelivery ?? "?"} ms serving requests);`,
  );
  console.log(
    `end to end on ${result.mongo}: ${result.endToEndEvents} events → ${result.endToEndDeliveries} webhooks${result.complete ? "" : " (INCOMPLETE: stopped waiting)"}: ${result.eventsPerSec} events/s, ${result.deliveriesPerSec} deliveries/s (${result.deliveriesVsRawPost}× bare POST), p99 ${result.p99DeliveryMs} ms`,
  );
}

// The dispatch API (GET /api/v1/dispatch/jobs, POST …/jobs/ID:retry|:cancel, GET /api/v1/dispatch/stats) and
// `sp jobs`, end to end: a real `sp serve` child process running event dispatch against the MongoDB stand-in,
// a local webhook receiver, and the `sp` CLI as a subprocess. Bad input gets a clear error and never stops
// the server.
import { execFile, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MATCHER_NAME, MATCH_OPERATOR } from "../../src/dispatch/matcher-stats.ts";
import { startTestServer, type TestServer } from "../server/helpers.ts";
import { useMongoDatabase } from "../support/mongo.ts";
import { testServices } from "../support/services.ts";
import { spawnServe, type ServeProcess } from "../support/sp-serve.ts";
import { eventually, ordersSubscription, startReceiver, type Receiver } from "./support.ts";

const SP = join(resolve(import.meta.dirname, "../.."), "bin/sp.js");
const mongo = useMongoDatabase("dispatch_api");
const home = mkdtempSync(join(tmpdir(), "eddy-dispatch-api-"));
const children: ChildProcess[] = [];
let receiver: Receiver;
let serve: ServeProcess;
/** Whether the receiver accepts webhooks at /flaky (else 400: the job fails at once). */
let flakyAccepts = false;

/** The environment without Eddy or FlowCatalyst settings of the machine running the tests. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("EDDY_") && !key.startsWith("FC_")) env[key] = value;
  }
  return { ...env, ...extra };
}

function dispatchEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return cleanEnv({
    FC_MONGO_URL: testServices().mongodbUri,
    FC_MONGO_DB: mongo.db,
    FC_METRICS_PORT: "off",
    FC_DATA_DIR: join(home, "fc"),
    FC_LEASE_TTL_MS: "1000",
    FC_DISPATCH_POLL_MS: "20",
    ...extra,
  });
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `sp ARGS --server URL` in the server's folder (where its api-token is). */
function sp(args: readonly string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [SP, ...args, "--server", serve.url],
      { cwd: home, env: cleanEnv(), timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

async function api(
  method: string,
  path: string,
  token: string | null = serveToken(),
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${serve.url}/api/v1${path}`, {
    method,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The token `sp serve` wrote to its data folder. */
let token = "";
const serveToken = (): string => token;

const db = () => mongo.client.db(mongo.db);
const jobs = () => db().collection("dispatch_jobs");
const eventId = new ObjectId();
const badTypeId = new ObjectId();
const badClientId = new ObjectId();

beforeAll(async () => {
  receiver = await startReceiver();
  receiver.respond((req, res) => {
    if (req.path === "/flaky" && !flakyAccepts) res.writeHead(400).end("rejected");
    else res.writeHead(200).end("ok");
  });
  const subscription = (name: string, extra: Record<string, unknown> = {}) =>
    ordersSubscription(name, receiver.url, extra);
  await db()
    .collection("subscriptions")
    .insertMany([
      subscription("ok"),
      subscription("flaky"),
      // $concat on a number throws while the filter runs: the event goes to the DLQ for this subscription.
      subscription("broken-filter", { filters: { $expr: { $eq: [{ $concat: ["$data.n", "x"] }, "1x"] } } }),
    ]);
  serve = await spawnServe(["--port", "0"], { cwd: home, env: dispatchEnv(), children });
  token = (await readFile(serve.started.tokenFile as string, "utf8")).trim();
  await eventually(async () => {
    const stats = await api("GET", "/dispatch/stats");
    return stats.status === 200 && (stats.body.matcher as { status: string }).status === "running";
  }, "the matcher to run");
  await db()
    .collection("events")
    .insertMany([
      { _id: eventId, type: "orders:fulfillment:shipment:shipped", client_id: "acme", data: { n: 1 } },
      { _id: badTypeId, type: "orders:shipped", client_id: "acme", data: { n: 2 } },
      { _id: badClientId, type: "orders:fulfillment:shipment:shipped", client_id: 42, data: { n: 3 } },
    ]);
  await eventually(
    async () =>
      (await jobs().countDocuments({ event_id: eventId, status: { $in: ["DELIVERED", "FAILED"] } })) === 2,
    "one job delivered and one failed",
  );
}, 60_000);

afterAll(async () => {
  if (process.env.DISPATCH_TEST_LOG) process.stderr.write(serve?.logs.join("\n") ?? "");
  for (const child of children) child.kill("SIGKILL");
  await receiver?.close();
});

const jobOf = async (name: string): Promise<{ _id: string; status: string }> => {
  const job = await jobs().findOne({ event_id: eventId, target: `${receiver.url}/${name}` });
  return { _id: String(job?._id), status: String(job?.status) };
};

describe("GET /api/v1/dispatch/jobs", () => {
  it("lists jobs newest first, filtered by status, event, client and limit", async () => {
    const all = await api("GET", `/dispatch/jobs?eventId=${eventId.toHexString()}`);
    expect(all.status).toBe(200);
    expect((all.body.results as Array<{ status: string }>).map((j) => j.status).sort()).toEqual([
      "DELIVERED",
      "FAILED",
    ]);
    const failed = await api("GET", "/dispatch/jobs?status=failed&clientId=acme");
    expect((failed.body.results as Array<{ _id: string }>).map((j) => j._id)).toEqual([
      (await jobOf("flaky"))._id,
    ]);
    const one = await api("GET", "/dispatch/jobs?limit=1");
    expect(one.body.results).toHaveLength(1);
    const none = await api("GET", "/dispatch/jobs?clientId=globex");
    expect(none.body.results).toEqual([]);
  });

  it("answers bad filters and a missing token with clear errors", async () => {
    const status = await api("GET", "/dispatch/jobs?status=LOST");
    expect(status.status).toBe(400);
    expect(status.body).toMatchObject({ errorCode: "INVALID_JOB_QUERY" });
    expect(JSON.stringify(status.body)).toContain("status must be one of PENDING, IN_PROGRESS");
    for (const limit of ["0", "1001", "ten"]) {
      const bad = await api("GET", `/dispatch/jobs?limit=${limit}`);
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.body)).toContain("limit must be an integer from 1 to 1000");
    }
    expect((await api("GET", "/dispatch/jobs", null)).status).toBe(401);
  });
});

describe("POST /api/v1/dispatch/jobs/ID:retry and :cancel", () => {
  it("retries a failed job, which is then delivered under the same webhook-id", async () => {
    const failed = await jobOf("flaky");
    flakyAccepts = true;
    const retried = await api("POST", `/dispatch/jobs/${failed._id}:retry`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ _id: failed._id, status: "PENDING", attempts: 0 });
    await eventually(async () => (await jobOf("flaky")).status === "DELIVERED", "the retried job delivered");
    const ids = receiver.received.filter((r) => r.path === "/flaky").map((r) => r.headers["webhook-id"]);
    expect(new Set(ids)).toEqual(new Set([failed._id]));
    expect(ids.length).toBeGreaterThanOrEqual(2);
  });

  it("cancels a waiting job and refuses what its state forbids, naming the state", async () => {
    const waiting = new ObjectId().toHexString();
    await jobs().insertOne({
      _id: waiting as never,
      // An event and subscription that exist, so a retry can deliver it.
      event_id: badTypeId,
      subscription_id: (await db().collection("subscriptions").findOne({ name: "ok" }))?._id,
      client_id: "acme",
      status: "RETRY",
      target: `${receiver.url}/ok`,
      pool_code: "default",
      scheduled_at: new Date(Date.now() + 3_600_000),
      attempts: 1,
      last_attempt_at: null,
      last_error: "HTTP 503",
      created_at: new Date(),
    });
    const cancelled = await api("POST", `/dispatch/jobs/${waiting}:cancel`);
    expect(cancelled).toMatchObject({ status: 200, body: { _id: waiting, status: "CANCELLED" } });
    const again = await api("POST", `/dispatch/jobs/${waiting}:cancel`);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ errorCode: "JOB_STATE_CONFLICT" });
    expect(JSON.stringify(again.body)).toContain("is CANCELLED");
    const delivered = await jobOf("ok");
    expect((await api("POST", `/dispatch/jobs/${delivered._id}:retry`)).status).toBe(409);
    const missing = await api("POST", "/dispatch/jobs/no-such-job:retry");
    expect(missing).toMatchObject({ status: 404, body: { errorCode: "JOB_NOT_FOUND" } });
    expect((await api("POST", `/dispatch/jobs/${waiting}:cancel`, null)).status).toBe(401);
  });
});

describe("GET /api/v1/dispatch/stats and the DLQ", () => {
  it("reports the matcher under ASP's stats names, with unmatchable events in dispatch_dlq", async () => {
    await eventually(
      async () => (await db().collection("dispatch_dlq").countDocuments()) >= 3,
      "three dead letters",
    );
    // The counters move once the batch's read models are written, after the jobs and dead letters.
    const { status, body } = await eventually(async () => {
      const reply = await api("GET", "/dispatch/stats?verbose=true");
      const counted = reply.body.matcher as { outputMessageCount?: number; dlqMessageCount?: number };
      return counted.outputMessageCount === 2 && counted.dlqMessageCount === 3 ? reply : undefined;
    }, "the matcher's counters");
    expect(status).toBe(200);
    const matcher = body.matcher as Record<string, unknown>;
    expect(matcher).toMatchObject({
      name: MATCHER_NAME,
      status: "running",
      inputMessageCount: 3,
      outputMessageCount: 2,
      dlqMessageCount: 3,
    });
    expect(matcher.inputMessageSize as number).toBeGreaterThan(0);
    expect((matcher.operatorStats as Array<{ name: string }>)[0].name).toBe(MATCH_OPERATOR);
    expect(body.jobs).toMatchObject({ DELIVERED: 2, CANCELLED: 1, PENDING: 0 });

    const letters = await db().collection("dispatch_dlq").find({}).toArray();
    const reasons = new Map(letters.map((l) => [String((l.doc as { _id: unknown })._id), l]));
    expect(reasons.get(String(badTypeId))).toMatchObject({
      _stream_meta: { source: { type: "atlas" } },
      errInfo: { reason: expect.stringContaining(`Failed to process input document in ${MATCH_OPERATOR}`) },
      operatorName: MATCH_OPERATOR,
      processorName: MATCHER_NAME,
    });
    expect(reasons.get(String(badClientId))?.errInfo.reason).toContain("client_id must be a string");
    expect(reasons.get(String(eventId))?.errInfo.reason).toContain("filters of subscription");
    expect((await api("GET", "/dispatch/stats?scale=0")).status).toBe(400);
  });
});

describe("sp jobs", () => {
  it("lists, retries, cancels and shows stats; bad input exits with a message", async () => {
    const listed = await sp(["jobs", "list", "--event", eventId.toHexString(), "--json"]);
    expect(listed.code).toBe(0);
    const results = (JSON.parse(listed.stdout) as { results: Array<{ _id: string }> }).results;
    expect(results).toHaveLength(2);

    const table = await sp(["jobs", "list", "--status", "DELIVERED", "--limit", "5"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/JOB\s+STATUS\s+ATTEMPTS/);
    expect(table.stdout).toContain((await jobOf("ok"))._id);

    const cancelled = (await jobs().findOne({ status: "CANCELLED" }))?._id as unknown as string;
    const retry = await sp(["jobs", "retry", cancelled, "no-such-job"]);
    expect(retry.code).not.toBe(0);
    expect(retry.stdout + retry.stderr).toContain("no-such-job");
    expect(retry.stdout + retry.stderr).toMatch(/scheduled for retry/);
    await eventually(
      async () => (await jobs().findOne({ _id: cancelled as never }))?.status === "DELIVERED",
      "the job retried from the CLI delivered",
    );

    const cancel = await sp(["jobs", "cancel", (await jobOf("flaky"))._id]);
    expect(cancel.code).not.toBe(0);
    expect(cancel.stdout + cancel.stderr).toContain("is DELIVERED");

    const stats = await sp(["jobs", "stats", "--json"]);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ matcher: { name: MATCHER_NAME } });
    const statsTable = await sp(["jobs", "stats"]);
    expect(statsTable.stdout).toMatch(/dlqMessageCount\s+3/);

    const badStatus = await sp(["jobs", "list", "--status", "LOST"]);
    expect(badStatus.code).not.toBe(0);
    expect(badStatus.stderr).toContain("status must be one of");
    const noIds = await sp(["jobs", "cancel"]);
    expect(noIds.code).toBe(2);
    expect(noIds.stderr).toContain("cancel needs job ids");
    const unknown = await sp(["jobs", "resend"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown action 'resend'");
    // The server is still up after all of it.
    expect((await api("GET", "/dispatch/jobs?limit=1")).status).toBe(200);
  }, 90_000);
});

describe("a server without event dispatch", () => {
  let plain: TestServer;
  beforeAll(async () => {
    plain = await startTestServer();
  });
  afterAll(async () => plain?.close());

  it("answers the dispatch routes with DISPATCH_NOT_CONFIGURED", async () => {
    for (const [method, path] of [
      ["GET", "/api/v1/dispatch/jobs"],
      ["GET", "/api/v1/dispatch/stats"],
      ["POST", "/api/v1/dispatch/jobs/x:retry"],
    ]) {
      const reply = await plain.api(method, path);
      expect(reply.status).toBe(404);
      expect(reply.body).toMatchObject({ errorCode: "DISPATCH_NOT_CONFIGURED" });
      expect(reply.text).toContain("FC_MONGO_URL");
    }
  });
});

describe("sp serve with a bad FC_ setting", () => {
  it("does not start, and says which variable and what was expected", async () => {
    await expect(
      spawnServe(["--port", "0"], {
        cwd: mkdtempSync(join(tmpdir(), "eddy-dispatch-bad-")),
        env: dispatchEnv({ FC_STREAM_BATCH_SIZE: "0" }),
        children,
      }),
    ).rejects.toThrow(/FC_STREAM_BATCH_SIZE must be an integer ≥ 1, got '0'/);
  });
});

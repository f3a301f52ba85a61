// Fault injection at processor level for $https: a local HTTP server that misbehaves on a schedule (503s,
// a 500, slow answers, requests that hang past requestTimeoutSec, 404s). The processor runs under the
// supervisor: inline retries absorb 503s and timeouts, the 500 fails the run (retryable, as ASP fails on
// unlisted statuses) and the supervisor restarts it from its checkpoint, 404s follow onError. No event is
// lost: each one ends up in the target collection or in the DLQ.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../support/services.ts";
import { superviseProcessor } from "./helpers.ts";

const EVENTS = 200;

/** What the server does with the n-th request (1-based) for document `id`. */
function behaviour(id: number, attempt: number): "ok" | "503" | "500" | "slow" | "hang" | "404" {
  if (id % 10 === 9) return "404";
  if (id % 10 === 3 && attempt <= 2) return "503";
  if (id % 10 === 5) return "slow";
  if (id % 50 === 7 && attempt === 1) return "hang";
  if (id === 120 && attempt === 1) return "500";
  return "ok";
}

describe("$https faults at processor level", () => {
  let server: Server;
  let url: string;
  const attempts = new Map<number, number>();
  const { mongodbUri } = testServices();
  const client = new MongoClient(mongodbUri);
  const db = uniqueName("https_faults");

  beforeAll(async () => {
    server = createServer((req, res) => {
      const id = Number(new URL(req.url ?? "/", "http://x").searchParams.get("id"));
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      const answer = () =>
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id, attempt }));
      switch (behaviour(id, attempt)) {
        case "503":
          return void res.writeHead(503).end();
        case "500":
          return void res.writeHead(500).end("internal error");
        case "404":
          return void res.writeHead(404).end();
        case "slow":
          return void setTimeout(answer, 150);
        case "hang":
          return; // never answers: the client's requestTimeoutSec fires
        default:
          return answer();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await client
      .db(db)
      .dropDatabase()
      .catch(() => undefined);
    await client.close();
  });

  function definition(name: string, onError: string) {
    return {
      name,
      pipeline: [
        { $source: { documents: Array.from({ length: EVENTS }, (_, id) => ({ _id: id, id })) } },
        {
          $https: {
            connectionName: "api",
            path: "/echo",
            parameters: { id: "$id" },
            as: "response",
            onError,
            config: { requestTimeoutSec: 1 },
          },
        },
        { $merge: { into: { connectionName: "db", db, coll: name } } },
      ],
      options: { dlq: { connectionName: "db", db, coll: `${name}_dlq` } },
    };
  }

  const connections = () => [
    { name: "api", type: "Https" as const, config: { url } },
    { name: "db", type: "Cluster" as const, config: { uri: mongodbUri } },
  ];

  it("onError dlq: retries recover 503s and timeouts, the 500 restarts the processor, 404s go to the DLQ, none lost", async () => {
    attempts.clear();
    const { supervisor, statuses } = await superviseProcessor(definition("dlq_mode", "dlq"), connections());
    await supervisor.done();
    const written = await client.db(db).collection("dlq_mode").find().toArray();
    const dlq = await client.db(db).collection("dlq_mode_dlq").find().toArray();
    const notFound = Array.from({ length: EVENTS }, (_, id) => id).filter((id) => id % 10 === 9);
    const dlqIds = new Set(dlq.map((r) => (r.doc as { id: number }).id));
    console.log(
      `https faults: ${written.length} written, ${dlq.length} dead-lettered, restarts ${supervisor.status().restarts}, ` +
        `states ${statuses.map((s) => s.state).join(">")}`,
    );
    expect(new Set(written.map((d) => d._id))).toEqual(
      new Set(Array.from({ length: EVENTS }, (_, id) => id).filter((id) => id % 10 !== 9)),
    );
    expect(written.every((d) => (d.response as { id: unknown }).id === d.id)).toBe(true);
    expect(dlqIds).toEqual(new Set(notFound));
    expect(dlq[0].errInfo.reason).toContain("Request failed with status code 404");
    expect(dlq[0].operatorName).toBe("HttpsOperator");
    // The 500 failed one run (retryable) and the supervisor started a new one.
    expect(statuses.some((s) => s.state === "retrying" && s.error?.message.includes("status code 500"))).toBe(
      true,
    );
    expect(supervisor.status().restarts).toBeGreaterThanOrEqual(1);
    // The 503s were retried inline (two 503s, then 200), the hung request again after its timeout; a replay
    // after the restart may add attempts (at-least-once), never remove them.
    expect(attempts.get(3)).toBeGreaterThanOrEqual(3);
    expect(attempts.get(7)).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it("onError ignore: 404 documents pass on without a response", async () => {
    attempts.clear();
    const { supervisor } = await superviseProcessor(definition("ignore_mode", "ignore"), connections());
    await supervisor.done();
    const written = await client.db(db).collection("ignore_mode").find().toArray();
    expect(written).toHaveLength(EVENTS);
    expect(written.filter((d) => d.response === undefined).map((d) => d._id)).toEqual(
      Array.from({ length: EVENTS }, (_, id) => id).filter((id) => id % 10 === 9),
    );
    expect(await client.db(db).collection("ignore_mode_dlq").countDocuments()).toBe(0);
  }, 120_000);

  it("onError fail: the first 404 fails the processor for good (not retried)", async () => {
    attempts.clear();
    const { supervisor } = await superviseProcessor(definition("fail_mode", "fail"), connections());
    await expect(supervisor.done()).rejects.toThrow("Request failed with status code 404");
    expect(supervisor.status()).toMatchObject({ state: "failed", restarts: 0 });
    expect(supervisor.status().error?.retryable).toBe(false);
  }, 60_000);
});

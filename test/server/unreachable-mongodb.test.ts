// A processor whose MongoDB cannot be reached says so — where, why, when it tries again and how often it
// has — in its state, its stats and `sp list`; and its Prometheus counters never go down while it retries.
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let port: number;
const P = "/api/v1/workspaces/default/processors";
const C = "/api/v1/workspaces/default/connections";
const CANNOT_REACH = () =>
  new RegExp(
    `cannot reach MongoDB at 127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED.*\\), retrying in \\d+ s \\(attempt \\d+\\)`,
  );

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port: free } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return free;
}

beforeAll(async () => {
  port = await closedPort();
  server = await startTestServer({ retry: { initialDelayMs: 200, maxDelayMs: 400, giveUpAfterMs: 120_000 } });
  const created = await server.api("POST", C, {
    name: "down",
    type: "Cluster",
    config: { uri: `mongodb://127.0.0.1:${port}/?serverSelectionTimeoutMS=300&connectTimeoutMS=300` },
  });
  expect(created.status).toBe(201);
  const processor = await server.api("POST", P, {
    name: "toNowhere",
    pipeline: [
      { $source: { connectionName: "sample_stream_solar" } },
      { $merge: { into: { connectionName: "down", db: "nowhere", coll: "out" } } },
    ],
  });
  expect(processor.status).toBe(201);
  expect((await server.api("POST", `${P}/toNowhere:start`)).status).toBe(200);
});
afterAll(async () => server.close());

describe("an unreachable MongoDB", () => {
  it("is named with its address, the reason and the next retry in the state and the stats", async () => {
    const view = await eventually(async () => {
      const reply = await server.api("GET", `${P}/toNowhere`);
      return CANNOT_REACH().test(reply.body.status?.error?.message ?? "") ? reply.body : undefined;
    });
    expect(view.state).toBe("STARTED");
    expect(view.status.state).toBe("retrying");
    expect(view.status.error.message).not.toMatch(/Topology is closed/);
    const stats = await server.api("GET", `${P}/toNowhere/stats`);
    expect(stats.body.stats.status).toBe("error");
    expect(stats.body.stats.error.reason).toMatch(CANNOT_REACH());
  });

  it("keeps every Prometheus counter from going down across the retries", async () => {
    const counters = (text: string): Map<string, number> =>
      new Map(
        text
          .split("\n")
          .filter((line) => line.startsWith("eddy_processor_") && line.includes("_total{"))
          .filter((line) => line.includes('processor="toNowhere"'))
          .map((line) => [
            line.slice(0, line.lastIndexOf(" ")),
            Number(line.slice(line.lastIndexOf(" ") + 1)),
          ]),
      );
    let last = counters((await server.api("GET", "/metrics")).text);
    let restarts = 0;
    const seenInput: number[] = [];
    for (let i = 0; i < 30 && restarts < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      const text = (await server.api("GET", "/metrics")).text;
      const now = counters(text);
      for (const [name, value] of now) {
        expect(value, name).toBeGreaterThanOrEqual(last.get(name) ?? 0);
      }
      seenInput.push(
        now.get('eddy_processor_input_messages_total{workspace="default",processor="toNowhere"}') ?? 0,
      );
      restarts = Number(
        /eddy_processor_restarts_total\{[^}]*processor="toNowhere"\} (\d+)/.exec(text)?.[1] ?? 0,
      );
      last = now;
    }
    expect(restarts).toBeGreaterThan(0);
  });
});

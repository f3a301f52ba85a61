import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONNECTORS } from "../../../src/connectors/registry.ts";
import { DocumentsSource } from "../../../src/connectors/documents/source.ts";
import { HttpsSink, type HttpsSinkPlan } from "../../../src/connectors/https/https-sink.ts";
import type { Doc } from "../../../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor } from "../../../src/pipeline/index.ts";
import { ProcessorRuntime } from "../../../src/runtime/index.ts";

const catalog = new MapConnectionCatalog([
  { name: "api", type: "Https", config: { url: "http://127.0.0.1:1" } },
]);

function sinkPlan(https: Doc) {
  const plan = planProcessor(
    {
      name: "hooks",
      pipeline: [{ $source: { documents: [] } }, { $https: { connectionName: "api", ...https } }],
    },
    { connections: catalog, connectors: CONNECTORS },
  );
  if (plan.sink?.kind !== "connector") throw new Error("expected a terminal $https");
  return { plan, sink: plan.sink as HttpsSinkPlan };
}

async function body(request: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of request) text += String(chunk);
  return text;
}

describe("terminal $https", () => {
  let server: Server;
  let url: string;
  const received: { method: string; path: string; body: Doc }[] = [];
  const attempts = new Map<number, number>();

  beforeAll(async () => {
    server = createServer(async (request, response) => {
      const doc = JSON.parse(await body(request)) as Doc;
      const id = doc.id as number;
      attempts.set(id, (attempts.get(id) ?? 0) + 1);
      received.push({ method: request.method ?? "", path: request.url ?? "", body: doc });
      response.statusCode = id === 2 ? 500 : id === 3 ? 404 : 200;
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("POSTs each document; a document still failing after maxRetries is dead-lettered with its attempts", async () => {
    const { plan, sink } = sinkPlan({ path: "/events" });
    const dlq: Doc[] = [];
    const runtime = new ProcessorRuntime(plan, {
      source: new DocumentsSource([{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }]),
      sink: new HttpsSink(sink, { url, maxRetries: 3, retryDelayMs: 1 }),
      dlq: { write: async (records) => void dlq.push(...records), close: async () => {} },
    });
    const stats = await runtime.run();
    expect(received.filter((r) => r.body.id !== 2).map((r) => [r.method, r.path, r.body.id])).toEqual([
      ["POST", "/events", 1],
      ["POST", "/events", 3],
      ["POST", "/events", 4],
    ]);
    expect(attempts.get(2)).toBe(3);
    expect(dlq.map((r) => [(r.doc as Doc).id, r.attempts, (r.errInfo as Doc).reason])).toEqual([
      [2, 3, expect.stringMatching(/HttpsOperator.*status code 500.*gave up after 3 attempts/)],
      [3, undefined, expect.stringMatching(/status code 404/)],
    ]);
    expect(stats.outputMessageCount).toBe(2);
    expect(stats.dlqMessageCount).toBe(2);
  });

  it("fails the run (retryable) when the endpoint does not answer at all", async () => {
    const { sink } = sinkPlan({});
    const error = await new HttpsSink(sink, { url: "http://127.0.0.1:1" })
      .write([{ id: 9 }])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ retryable: true, message: expect.stringContaining("could not connect") });
  });
});

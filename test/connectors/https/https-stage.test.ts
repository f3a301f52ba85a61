import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createHttpsStage,
  HttpsProcessorError,
  type HttpsStagePlan,
} from "../../../src/connectors/https/https-stage.ts";
import type { Doc } from "../../../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor } from "../../../src/pipeline/index.ts";
import type { RunContext } from "../../../src/runtime/index.ts";
import { StatsCollector } from "../../../src/runtime/stats.ts";
import type { Item } from "../../../src/runtime/types.ts";
import { CONNECTORS } from "../../../src/connectors/registry.ts";

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

describe("$https stage", () => {
  let server: Server;
  let base: string;
  const routes = new Map<string, Handler>();
  const seen: Array<{ method: string; url: string; headers: IncomingMessage["headers"]; body: string }> = [];
  let flaky = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
        const path = (req.url ?? "").split("?")[0];
        const handler = routes.get(path);
        if (handler) handler(req, body, res);
        else res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
    routes.set("/api/echo", (req, body, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ url: req.url, body: body ? JSON.parse(body) : null, token: req.headers["x-token"] }),
      );
    });
    routes.set("/api/slow", (req, _body, res) => {
      const n = Number(new URL(req.url ?? "", "http://x").searchParams.get("n"));
      setTimeout(
        () => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ n })),
        (5 - n) * 20,
      );
    });
    routes.set("/api/text", (_req, _body, res) =>
      res.writeHead(200, { "content-type": "text/plain" }).end("hello"),
    );
    routes.set("/api/empty", (_req, _body, res) => res.writeHead(204).end());
    routes.set("/api/boom", (_req, _body, res) => res.writeHead(500).end("boom"));
    routes.set("/api/flaky", (_req, _body, res) => {
      flaky++;
      if (flaky < 3) res.writeHead(503).end();
      else res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function stage(https: Doc) {
    const catalog = new MapConnectionCatalog([
      { name: "api", type: "Https", config: { url: base, headers: { "x-token": "t0k" } } },
    ]);
    const plan = planProcessor(
      {
        name: "h",
        pipeline: [
          { $source: { documents: [] } },
          { $https: { connectionName: "api", as: "response", ...https } },
        ],
      },
      { connectors: CONNECTORS, connections: catalog, ephemeral: true },
    );
    const dead: Doc[] = [];
    const ctx: RunContext = {
      processorName: "h",
      clock: { now: () => 0 },
      deadLetter: (record) => void dead.push(record),
    };
    const runner = createHttpsStage(
      plan.stages[0] as HttpsStagePlan,
      { url: base, headers: { "x-token": "t0k" } },
      ctx,
      new StatsCollector("h"),
      {
        backoffMs: 5,
      },
    );
    const run = async (docs: Doc[]) =>
      (
        await runner.process(docs.map((doc): Item => ({ doc, vars: {}, eventTime: 0, watermarkBefore: 0 })))
      ).map((i) => i.doc);
    return { run, dead };
  }

  it("GETs path and parameters from expressions, with the connection's headers, and sets `as` and _stream_meta.https", async () => {
    const { run } = stage({
      path: { $concat: ["ec", "ho"] },
      parameters: { city: "$city", units: "metric" },
    });
    const [out] = await run([{ city: "Oslo" }]);
    expect(out.response).toEqual({ url: "/api/echo?city=Oslo&units=metric", body: null, token: "t0k" });
    expect((out._stream_meta as Doc).https).toMatchObject({ method: "GET", httpStatusCode: 200 });
  });

  it("POSTs the payload pipeline's document", async () => {
    const { run } = stage({
      path: "echo",
      method: "POST",
      payload: [{ $project: { _id: 0, q: "$question" } }],
    });
    const [out] = await run([{ _id: 1, question: "why" }]);
    expect((out.response as Doc).body).toEqual({ q: "why" });
  });

  it("keeps input order with concurrent requests", async () => {
    const { run } = stage({ path: "slow", parameters: { n: "$n" } });
    const out = await run([0, 1, 2, 3, 4].map((n) => ({ n })));
    expect(out.map((d) => (d.response as Doc).n)).toEqual([0, 1, 2, 3, 4]);
  });

  it("stores text as a string and sets nothing for an empty body", async () => {
    expect((await stage({ path: "text" }).run([{}]))[0].response).toBe("hello");
    expect((await stage({ path: "empty" }).run([{}]))[0]).not.toHaveProperty("response");
  });

  it("dead-letters a 404 by default, passes it on with onError ignore, fails with onError fail", async () => {
    const dlq = stage({ path: "missing" });
    expect(await dlq.run([{ a: 1 }])).toEqual([]);
    expect((dlq.dead[0].errInfo as Doc).reason).toContain("Request failed with status code 404");
    expect(await stage({ path: "missing", onError: "ignore" }).run([{ a: 1 }])).toEqual([{ a: 1 }]);
    await expect(stage({ path: "missing", onError: "fail" }).run([{ a: 1 }])).rejects.toThrow(
      HttpsProcessorError,
    );
  });

  it("fails the processor on a 500, whatever onError says", async () => {
    await expect(stage({ path: "boom" }).run([{}])).rejects.toThrow("status code 500");
  });

  it("retries transient 503s with back-off and then succeeds", async () => {
    flaky = 0;
    const [out] = await stage({ path: "flaky" }).run([{}]);
    expect(out.response).toEqual({ ok: true });
    expect(flaky).toBe(3);
  });

  it("times out a request that hangs and fails the processor after the retries", async () => {
    routes.set("/api/hang", () => undefined);
    await expect(stage({ path: "hang", config: { requestTimeoutSec: 1 } }).run([{}])).rejects.toThrow(
      /timed out/,
    );
  }, 20_000);
});

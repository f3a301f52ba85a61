/**
 * HTTP server benchmark: what `sp serve`'s request handling costs on top of Node's own HTTP server.
 *
 *   node bench/http-server.ts          table
 *   node bench/http-server.ts --json   one JSON object with every figure
 *
 * Baseline in the same run: a bare `node:http` server that answers every request with a fixed small JSON
 * body. Against it, Eddy's server (`startServer`, file state store in a temporary folder) for three requests:
 * `GET /health` (routing, Host check and access log only), `GET …/processors` with the token (auth, a state
 * store read, redaction) and `POST …/processors` with an invalid body (body read, JSON parse, schema check,
 * error reply). Each case runs CONCURRENCY keep-alive clients for DURATION_MS after a warm-up; the figure is
 * requests per second and the ratio to the baseline.
 */
import { createServer, request as httpRequest, Agent } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jsonLogger } from "../src/runtime/log.ts";
import { startServer } from "../src/server/server.ts";

const CONCURRENCY = 16;
const DURATION_MS = 3_000;
const WARMUP_MS = 500;
const TOKEN = "bench-token";

const json = process.argv.includes("--json");

interface Case {
  readonly method: string;
  readonly path: string;
  readonly body?: string;
}

function once(agent: Agent, base: URL, c: Case): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method: c.method,
        path: c.path,
        agent,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(c.body !== undefined
            ? { "content-type": "application/json", "content-length": Buffer.byteLength(c.body) }
            : {}),
        },
      },
      (res) => {
        res.resume();
        res.on("end", resolve);
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(c.body);
  });
}

async function requestsPerSecond(url: string, c: Case): Promise<number> {
  const base = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const run = async (ms: number): Promise<number> => {
    const until = performance.now() + ms;
    let count = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < until) {
          await once(agent, base, c);
          count++;
        }
      }),
    );
    return count;
  };
  await run(WARMUP_MS);
  const started = performance.now();
  const count = await run(DURATION_MS);
  const rate = count / ((performance.now() - started) / 1000);
  agent.destroy();
  return rate;
}

async function bareServer(): Promise<{ url: string; close(): Promise<void> }> {
  const body = JSON.stringify({ status: "ok" });
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const P = "/api/v1/workspaces/default/processors";
const CASES: Record<string, Case> = {
  health: { method: "GET", path: "/health" },
  listProcessors: { method: "GET", path: P },
  invalidBody: { method: "POST", path: P, body: JSON.stringify({ name: 5, pipeline: {} }) },
};

const bare = await bareServer();
const dataDir = await mkdtemp(join(tmpdir(), "eddy-bench-http-"));
const eddy = await startServer({
  port: 0,
  dataDir,
  token: TOKEN,
  envDir: dataDir,
  logger: jsonLogger(() => {}),
});
const results: Record<string, { baselinePerSecond: number; eddyPerSecond: number; ratio: number }> = {};
try {
  for (const [name, c] of Object.entries(CASES)) {
    const baselinePerSecond = await requestsPerSecond(bare.url, c);
    const eddyPerSecond = await requestsPerSecond(eddy.url, c);
    results[name] = {
      baselinePerSecond: Math.round(baselinePerSecond),
      eddyPerSecond: Math.round(eddyPerSecond),
      ratio: Math.round((eddyPerSecond / baselinePerSecond) * 100) / 100,
    };
  }
} finally {
  await eddy.close();
  await bare.close();
  await rm(dataDir, { recursive: true, force: true });
}

if (json) {
  console.log(JSON.stringify({ concurrency: CONCURRENCY, durationMs: DURATION_MS, results }));
} else {
  console.log(`requests per second, ${CONCURRENCY} keep-alive clients, ${DURATION_MS} ms per case`);
  console.log("case            bare node:http   eddy     ratio");
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `${name.padEnd(16)}${String(r.baselinePerSecond).padStart(14)}${String(r.eddyPerSecond).padStart(8)}${r.ratio.toFixed(2).padStart(10)}`,
    );
  }
}

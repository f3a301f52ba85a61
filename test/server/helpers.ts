/** Starts a real Eddy server on a free loopback port for tests, and talks to it over HTTP. */
import { mkdtemp } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EJSON } from "bson";
import { startServer, type EddyServer, type ServerOptions } from "../../src/server/server.ts";
import { jsonLogger } from "../../src/runtime/log.ts";

export const TOKEN = "test-token-0123456789";

export interface TestServer extends EddyServer {
  readonly dataDir: string;
  /** Every log line written so far. */
  readonly logs: string[];
  api(
    method: string,
    path: string,
    body?: unknown,
    options?: { token?: string | null; raw?: string },
  ): Promise<ApiReply>;
}

export interface ApiReply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience: replies are inspected field by field
  readonly body: any;
}

export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "eddy-server-")));
  const logs: string[] = [];
  const server = await startServer({
    port: 0,
    token: TOKEN,
    logger: jsonLogger((line) => logs.push(line)),
    envDir: dataDir,
    checkpointIntervalMs: 200,
    statsIntervalMs: 200,
    retry: { initialDelayMs: 50, maxDelayMs: 200, giveUpAfterMs: 2_000 },
    ...options,
    dataDir,
  });
  const api: TestServer["api"] = async (method, path, body, opts = {}) => {
    const token = opts.token === undefined ? TOKEN : opts.token;
    const res = await fetch(server.url + path, {
      method,
      headers: {
        ...(token !== null ? { Authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined || opts.raw !== undefined ? { "Content-Type": "application/json" } : {}),
      },
      body: opts.raw ?? (body !== undefined ? EJSON.stringify(body, { relaxed: true }) : undefined),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = EJSON.parse(text, { relaxed: true });
    } catch {
      // not JSON (e.g. /metrics): `text` has it
    }
    return { status: res.status, headers: res.headers, text, body: parsed };
  };
  return { ...server, dataDir, logs, api };
}

/** Sends a request with a declared body size through node:http, writing only `send` bytes; resolves with the status. */
export function rawRequest(
  url: string,
  options: { method: string; path: string; headers: Record<string, string | number>; send: Buffer },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url + options.path,
      { method: options.method, headers: options.headers },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.write(options.send);
  });
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

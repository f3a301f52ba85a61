// docs/security.md, tested: the token on every API route, the Host check (DNS rebinding), the data
// directory's modes and lock, and what a pipeline may read (environment variables, files).
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, stat, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCK_FILE } from "../../src/control/data-dir.ts";
import { eventually, startTestServer, TOKEN, type TestServer } from "./helpers.ts";

let server: TestServer;
let workspaceDir: string;
const P = "/api/v1/workspaces/default/processors";
const C = "/api/v1/workspaces/default/connections";

beforeAll(async () => {
  workspaceDir = await mkdtemp(join(tmpdir(), "eddy-ws-"));
  await writeFile(join(workspaceDir, "events.jsonl"), '{"a": 1}\n{"a": 2}\n');
  await writeFile(join(workspaceDir, ".env"), "FROM_DOTENV=dotenv-value\n");
  server = await startTestServer({
    envDir: workspaceDir,
    allowedHosts: ["eddy.internal"],
    env: {
      EDDY_THRESHOLD: "1",
      SERVER_ONLY_SECRET: "do-not-leak",
      NAMED_BY_CONFIG: "named",
      EDDY_API_TOKEN: TOKEN,
    },
    variables: { prefixes: ["EDDY_"], names: ["NAMED_BY_CONFIG"] },
  });
});
afterAll(async () => server.close());

/** A GET with a chosen Host header (fetch does not let one set it). */
function getWithHost(path: string, hostHeader: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      server.url + path,
      { headers: { host: hostHeader, authorization: `Bearer ${TOKEN}` } },
      (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Creates and starts a processor reading `source` into the built-in test log; returns the start reply. */
async function startWith(name: string, source: unknown, match: unknown = {}) {
  const created = await server.api("POST", P, {
    name,
    pipeline: [{ $source: source }, { $match: match }, { $emit: { connectionName: "__testLog" } }],
  });
  expect(created.status).toBe(201);
  return server.api("POST", `${P}/${name}:start`);
}

describe("authentication", () => {
  it("needs the token on every API route, also for reads from loopback", async () => {
    for (const path of ["/api/v1/workspaces", P, C, `${P}/nope/sample`, "/metrics"]) {
      const reply = await server.api("GET", path, undefined, { token: null });
      expect(reply.status, path).toBe(401);
      expect(reply.body.errorCode).toBe("UNAUTHORIZED");
    }
    expect((await server.api("GET", P, undefined, { token: "wrong" })).status).toBe(401);
    expect((await server.api("GET", P)).status).toBe(200);
  });

  it("leaves /health and /ready open, and /metrics when configured", async () => {
    expect((await server.api("GET", "/health", undefined, { token: null })).status).toBe(200);
    expect((await server.api("GET", "/ready", undefined, { token: null })).status).toBe(200);
    const open = await startTestServer({ publicMetrics: true });
    try {
      const metrics = await open.api("GET", "/metrics", undefined, { token: null });
      expect(metrics.status).toBe(200);
      expect(metrics.text).toContain("eddy_processors 0");
      expect((await open.api("GET", P, undefined, { token: null })).status).toBe(401);
    } finally {
      await open.close();
    }
  });
});

describe("Host header (DNS rebinding)", () => {
  it("accepts the bound address, loopback names and configured names; refuses others", async () => {
    const port = new URL(server.url).port;
    for (const ok of [`127.0.0.1:${port}`, `localhost:${port}`, `eddy.internal:${port}`, "EDDY.INTERNAL"]) {
      expect((await getWithHost("/api/v1/workspaces", ok)).status, ok).toBe(200);
    }
    for (const bad of [`attacker.example:${port}`, "127.0.0.1.nip.io", "evil.localhost"]) {
      const reply = await getWithHost("/api/v1/workspaces", bad);
      expect(reply.status, bad).toBe(421);
      expect(JSON.parse(reply.body)).toMatchObject({ errorCode: "HOST_NOT_ALLOWED" });
      expect(JSON.parse(reply.body).detail).toMatch(/--allowed-host/);
    }
  });
});

describe("the data directory", () => {
  it("is 0700 and its state files 0600", async () => {
    expect((await stat(server.dataDir)).mode & 0o777).toBe(0o700);
    const created = await server.api("POST", C, {
      name: "secretive",
      type: "Https",
      url: "https://api.example.com",
      headers: { Authorization: "Bearer literal-s3cret" },
    });
    expect(created.status).toBe(201);
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          expect((await stat(path)).mode & 0o777, path).toBe(0o700);
          await walk(path);
        } else files.push(path);
      }
    };
    await walk(join(server.dataDir, "state"));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect((await stat(file)).mode & 0o777, file).toBe(0o600);
  });

  it("tightens an existing world-readable data directory", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "eddy-open-"));
    await mkdir(dataDir, { recursive: true, mode: 0o755 });
    execFileSync("chmod", ["755", dataDir]);
    const other = await startTestServer({ dataDir });
    try {
      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    } finally {
      await other.close();
    }
  });

  it("refuses a second server on the same data directory, naming the first", async () => {
    await expect(startTestServer({ dataDir: server.dataDir })).rejects.toThrow(
      new RegExp(`another Eddy server \\(pid ${process.pid} .*is using the data directory`),
    );
    expect((await server.api("GET", P)).status).toBe(200);
  });

  it("takes over a stale lock whose process is gone, and releases it on close", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "eddy-stale-"));
    const gone = Number(execFileSync("sh", ["-c", "sleep 0 & echo $!"]).toString().trim());
    await eventually(async () => {
      try {
        process.kill(gone, 0);
        return undefined;
      } catch {
        return true;
      }
    });
    const { hostname } = await import("node:os");
    await writeFile(
      join(dataDir, LOCK_FILE),
      JSON.stringify({ pid: gone, host: hostname(), startedAt: "then" }),
    );
    const other = await startTestServer({ dataDir });
    await other.close();
    expect(await readdir(dataDir)).not.toContain(LOCK_FILE);
  });
});

describe("what a pipeline may read", () => {
  it("resolves placeholders from .env, the allowed prefix and named variables only", async () => {
    const allowed = await startWith(
      "allowedVars",
      { connectionName: "sample_stream_solar" },
      { a: { $in: ["{{FROM_DOTENV}}", "{{EDDY_THRESHOLD}}", "{{NAMED_BY_CONFIG}}"] } },
    );
    expect(allowed.status).toBe(200);
    await server.api("POST", `${P}/allowedVars:stop`);

    const refused = await startWith(
      "leaky",
      { connectionName: "sample_stream_solar" },
      { a: "{{SERVER_ONLY_SECRET}}" },
    );
    expect(refused.status).toBe(400);
    expect(refused.body.errorCode).toBe("MISSING_VARIABLE");
    expect(refused.body.detail).toMatch(/SERVER_ONLY_SECRET.*not allowed in placeholders.*--allow-env/);
    expect(refused.text).not.toContain("do-not-leak");

    const token = await startWith(
      "tokenThief",
      { connectionName: "sample_stream_solar" },
      { a: "{{EDDY_API_TOKEN}}" },
    );
    expect(token.status).toBe(400);
    expect(token.body.errorCode).toBe("MISSING_VARIABLE");
  });

  it("reads File connections inside the workspace folder only, never the data directory", async () => {
    const inside = await server.api("POST", C, {
      name: "events",
      type: "File",
      config: { path: join(workspaceDir, "events.jsonl") },
    });
    expect(inside.status).toBe(201);
    expect((await startWith("fileOk", { connectionName: "events" })).status).toBe(200);

    for (const [name, path] of [
      ["passwd", "/etc/passwd"],
      ["escape", join(workspaceDir, "..", "elsewhere.jsonl")],
      ["token", join(server.dataDir, "api-token")],
    ]) {
      const refused = await server.api("POST", C, { name, type: "File", config: { path } });
      expect(refused.status, path).toBe(400);
      expect(refused.body.errorCode).toBe("PATH_NOT_ALLOWED");
      expect(refused.body.detail).toMatch(/--allow-dir/);
    }
  });

  it("checks a File path given by a placeholder when the processor starts, and follows symlinks", async () => {
    await writeFile(join(workspaceDir, ".env"), "FROM_DOTENV=dotenv-value\nEVENTS_FILE=/etc/hostname\n");
    expect(
      (await server.api("POST", C, { name: "byVar", type: "File", config: { path: "{{EVENTS_FILE}}" } }))
        .status,
    ).toBe(201);
    const refused = await startWith("fileByVar", { connectionName: "byVar" });
    expect(refused.status).toBe(400);
    expect(refused.body.errorCode).toBe("PATH_NOT_ALLOWED");

    execFileSync("ln", ["-s", "/etc/hostname", join(workspaceDir, "link.jsonl")]);
    const linked = await server.api("POST", C, {
      name: "linked",
      type: "File",
      config: { path: join(workspaceDir, "link.jsonl") },
    });
    expect(linked.status).toBe(400);
    expect(linked.body.errorCode).toBe("PATH_NOT_ALLOWED");
  });
});

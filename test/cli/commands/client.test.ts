// The CLI's API client against a real HTTP server on loopback that answers as configured per request.
import { createServer, type IncomingMessage, type Server } from "node:http";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError, EddyClient } from "../../../src/cli/client.ts";
import { CliError, EXIT } from "../../../src/cli/errors.ts";
import { remoteContext } from "../../../src/cli/remote.ts";

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];
let reply: (req: IncomingMessage) => { status: number; body: string; delayMs?: number } = () => ({
  status: 200,
  body: "{}",
});

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += String(chunk)));
    req.on("end", () => {
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        authorization: req.headers.authorization,
        body,
      });
      const answer = reply(req);
      setTimeout(() => {
        res.writeHead(answer.status, { "content-type": "application/json" });
        res.end(answer.body);
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
});

async function failure(promise: Promise<unknown>): Promise<CliError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CliError);
  return error as CliError;
}

describe("EddyClient", () => {
  it("calls the contract's paths with the token and JSON bodies", async () => {
    reply = (req) =>
      req.url?.endsWith("/processors")
        ? {
            status: 200,
            body: JSON.stringify({ results: [{ name: "a b", state: "CREATED", pipeline: [] }] }),
          }
        : { status: 200, body: JSON.stringify({ ok: 1, ns: "ws.a b", stats: { inputMessageCount: 3 } }) };
    const client = new EddyClient({ server: `${base}/`, token: "t0k" });
    seen.length = 0;
    expect(await client.listProcessors("my ws")).toEqual([{ name: "a b", state: "CREATED", pipeline: [] }]);
    await client.startProcessor("my ws", "a b", { resumeFromCheckpoint: false });
    expect((await client.stats("my ws", "a b", { verbose: true, scale: 1024 })).stats.inputMessageCount).toBe(
      3,
    );
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "GET /api/v1/workspaces/my%20ws/processors",
      "POST /api/v1/workspaces/my%20ws/processors/a%20b:start",
      "GET /api/v1/workspaces/my%20ws/processors/a%20b/stats?verbose=true&scale=1024",
    ]);
    expect(seen[1]).toMatchObject({ authorization: "Bearer t0k", body: '{"resumeFromCheckpoint":false}' });
  });

  it("turns an error reply into its detail and problems, with the status and error code", async () => {
    reply = () => ({
      status: 400,
      body: JSON.stringify({
        error: 400,
        reason: "Bad Request",
        errorCode: "INVALID_PIPELINE",
        detail:
          "invalid processor definition: pipeline[0].$source.connectionName: Unknown connection name nope (and 1 more)",
        problems: [
          { path: "pipeline[0].$source.connectionName", message: "Unknown connection name nope" },
          { path: "pipeline", message: "The last stage in the pipeline must be $merge or $emit." },
        ],
      }),
    });
    const error = await failure(
      new EddyClient({ server: base }).createProcessor("default", { name: "p", pipeline: [] }),
    );
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, errorCode: "INVALID_PIPELINE", exitCode: EXIT.failed });
    expect(error.message.split("\n")).toEqual([
      "invalid processor definition: pipeline[0].$source.connectionName: Unknown connection name nope (and 1 more)",
      "  pipeline: The last stage in the pipeline must be $merge or $emit.",
    ]);
  });

  it("maps 401 to exit 4 with a hint that depends on whether a token was sent", async () => {
    reply = () => ({
      status: 401,
      body: JSON.stringify({ error: 401, errorCode: "INVALID_TOKEN", detail: "bad token" }),
    });
    const without = await failure(new EddyClient({ server: base }).dropProcessor("default", "p"));
    expect(without).toMatchObject({ exitCode: EXIT.auth, message: "bad token" });
    expect(without.hint).toContain("--token TOKEN or EDDY_API_TOKEN");
    const wrong = await failure(
      new EddyClient({ server: base, token: "x", tokenSource: "EDDY_API_TOKEN" }).dropProcessor(
        "default",
        "p",
      ),
    );
    expect(wrong.hint).toMatch(/^the token from EDDY_API_TOKEN is not this server's/);
  });

  it("keeps a non-JSON error body readable and names sp commands for missing things", async () => {
    reply = () => ({ status: 502, body: "<html>bad gateway</html>" });
    expect((await failure(new EddyClient({ server: base }).listWorkspaces())).message).toBe(
      "<html>bad gateway</html>",
    );
    reply = () => ({
      status: 404,
      body: JSON.stringify({
        error: 404,
        errorCode: "PROCESSOR_NOT_FOUND",
        detail: "no processor named 'x'",
      }),
    });
    expect((await failure(new EddyClient({ server: base }).getProcessor("default", "x"))).hint).toContain(
      "sp processors list",
    );
  });

  it("says there is no server, and how to start one, when nothing listens (exit 3)", async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, "127.0.0.1", done));
    const port = (closed.address() as { port: number }).port;
    await new Promise((done) => closed.close(done));
    const error = await failure(new EddyClient({ server: `http://127.0.0.1:${port}` }).listWorkspaces());
    expect(error).toMatchObject({
      exitCode: EXIT.unreachable,
      message: `no Eddy server at http://127.0.0.1:${port} (ECONNREFUSED)`,
    });
    expect(error.hint).toContain("sp serve");
  });

  it("gives up after the timeout", async () => {
    reply = () => ({ status: 200, body: "{}", delayMs: 2_000 });
    const error = await failure(new EddyClient({ server: base, timeoutMs: 100 }).listWorkspaces());
    expect(error).toMatchObject({
      exitCode: EXIT.unreachable,
      message: expect.stringContaining("did not answer within 0.1 s"),
    });
  });
});

describe("remoteContext", () => {
  const io = { stdout: new PassThrough(), stderr: new PassThrough(), stdin: new PassThrough() };
  const dataDir = mkdtempSync(join(tmpdir(), "sp-remote-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  writeFileSync(join(dataDir, "api-token"), "from-file\n");

  async function tokenSent(args: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
    reply = () => ({ status: 200, body: "{}" });
    seen.length = 0;
    const remote = await remoteContext(args, io, {}, env);
    await remote.client.deleteWorkspace("w");
    return seen[0]?.authorization;
  }

  it("takes --token, then EDDY_API_TOKEN, then <data dir>/api-token for a server on this machine", async () => {
    const env = { EDDY_SERVER: base, EDDY_DATA_DIR: dataDir };
    expect(await tokenSent(["--token", "flag"], { ...env, EDDY_API_TOKEN: "env" })).toBe("Bearer flag");
    expect(await tokenSent([], { ...env, EDDY_API_TOKEN: "env" })).toBe("Bearer env");
    expect(await tokenSent([], env)).toBe("Bearer from-file");
    expect(await tokenSent(["--data-dir", join(dataDir, "missing")], env)).toBeUndefined();
  });

  it("never sends the local token file to a remote server", async () => {
    const remote = await remoteContext(
      ["--server", "https://eddy.example.com"],
      io,
      {},
      { EDDY_DATA_DIR: dataDir },
    );
    expect((remote.client as unknown as { token?: string }).token).toBeUndefined();
  });

  it("reads config.txt like the seed sp tool: SP_WORKSPACE_NAME, EDDY_SERVER; flags and the environment win", async () => {
    const folder = mkdtempSync(join(tmpdir(), "sp-config-"));
    mkdirSync(join(folder, "ws"));
    writeFileSync(
      join(folder, "config.txt"),
      "# the tool's keys\nPUBLIC_KEY=x\nSP_INSTANCE_NAME=legacy\nSP_WORKSPACE_NAME=from-config\nEDDY_SERVER=http://127.0.0.1:9\n",
    );
    const dir = ["--dir", join(folder, "ws")]; // config.txt is in the workspace folder's parent
    const fromFile = await remoteContext(dir, io, {}, {});
    expect(fromFile.workspace).toBe("from-config");
    expect(fromFile.client.server).toBe("http://127.0.0.1:9");
    expect((await remoteContext(dir, io, {}, { SP_WORKSPACE_NAME: "env" })).workspace).toBe("env");
    expect((await remoteContext([...dir, "--workspace", "flag"], io, {}, {})).workspace).toBe("flag");
    const other = join(folder, "other.txt");
    writeFileSync(other, "SP_INSTANCE_NAME=legacy\n");
    expect((await remoteContext(["--config", other], io, {}, {})).workspace).toBe("legacy");
    await expect(remoteContext(["--config", join(folder, "nope.txt")], io, {}, {})).rejects.toThrow(
      "cannot read --config",
    );
    rmSync(folder, { recursive: true, force: true });
  });

  it("defaults to the local server, workspace default and the current directory", async () => {
    const remote = await remoteContext(["--json"], io, {}, {});
    expect(remote).toMatchObject({ workspace: "default", dir: process.cwd(), json: true });
    expect(remote.client.server).toBe("http://127.0.0.1:8470");
    await expect(remoteContext(["--server", "not a url"], io, {}, {})).rejects.toThrow(
      "--server expects a URL",
    );
  });
});

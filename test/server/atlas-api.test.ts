// The order-fulfillment demo's processor-creation flow through the Atlas Admin API routes: the stream instance
// and its connections with `curl --digest` (an API key's public key and the token as private key), the ten
// processors with Node's fetch (Digest too, as an Atlas API-key client sends it), then start, stop, modify,
// delete; and the Atlas error shapes and media types.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testServices } from "../support/services.ts";
import { startTestServer, TOKEN, type TestServer } from "./helpers.ts";

const DEMO = resolve(import.meta.dirname, "../../examples/order-fulfillment");
const GROUP = "5f1e2d3c4b5a69788796a5b4";
const INSTANCE = "orderFulfillment";
const VERSIONED = "application/vnd.atlas.2024-05-30+json";

let server: TestServer;
let streams: string;

beforeAll(async () => {
  server = await startTestServer({
    env: {
      MONGODB_URI: testServices().mongodbUri,
      ORDER_SERVICE_URL: "http://127.0.0.1:9",
      KAFKA_BOOTSTRAP_SERVERS: "127.0.0.1:19094",
      KAFKA_USERNAME: "eddy",
      KAFKA_PASSWORD: "eddy-secret",
    },
    variables: {
      prefixes: [],
      names: [
        "MONGODB_URI",
        "ORDER_SERVICE_URL",
        "KAFKA_BOOTSTRAP_SERVERS",
        "KAFKA_USERNAME",
        "KAFKA_PASSWORD",
      ],
    },
  });
  streams = `${server.url}/api/atlas/v2/groups/${GROUP}/streams`;
}, 30_000);

afterAll(async () => {
  await server?.close();
});

interface Answer {
  readonly status: number;
  readonly contentType: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience: replies are inspected field by field
  readonly body: any;
}

/** `curl --digest -u <public key>:<private key>`, as the demo's shell scripts call the Admin API. */
async function curl(method: string, url: string, body?: unknown, privateKey = TOKEN): Promise<Answer> {
  const { stdout } = await promisify(execFile)("curl", [
    "--silent",
    "--digest",
    "--user",
    `demo-public-key:${privateKey}`,
    "--header",
    "Accept: application/vnd.atlas.2023-02-01+json",
    "--header",
    "Content-Type: application/json",
    "--request",
    method,
    ...(body !== undefined ? ["--data", JSON.stringify(body)] : []),
    "--write-out",
    "\n%{http_code} %{content_type}",
    url,
  ]);
  const cut = stdout.lastIndexOf("\n");
  const [status, contentType] = stdout.slice(cut + 1).split(" ");
  const text = stdout.slice(0, cut);
  return { status: Number(status), contentType, body: text ? JSON.parse(text) : undefined };
}

/** Node's fetch with HTTP Digest (RFC 7616, MD5, qop=auth): the challenge first, then the signed request. */
async function fetchDigest(method: string, url: string, body?: unknown, privateKey = TOKEN): Promise<Answer> {
  const init = {
    method,
    headers: { Accept: VERSIONED, "Content-Type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  };
  const challenge = await fetch(url, init);
  await challenge.arrayBuffer();
  const header = challenge.headers.get("www-authenticate") ?? "";
  const field = (name: string): string => new RegExp(`${name}="([^"]*)"`).exec(header)?.[1] ?? "";
  const md5 = (text: string): string => createHash("md5").update(text).digest("hex");
  const uri = new URL(url).pathname;
  const cnonce = randomBytes(8).toString("hex");
  const ha1 = md5(`demo-public-key:${field("realm")}:${privateKey}`);
  const response = md5(`${ha1}:${field("nonce")}:00000001:${cnonce}:auth:${md5(`${method}:${uri}`)}`);
  const authorization =
    `Digest username="demo-public-key", realm="${field("realm")}", nonce="${field("nonce")}", uri="${uri}", ` +
    `qop=auth, nc=00000001, cnonce="${cnonce}", response="${response}", algorithm=MD5`;
  const res = await fetch(url, { ...init, headers: { ...init.headers, Authorization: authorization } });
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get("content-type") ?? "",
    body: text ? JSON.parse(text) : undefined,
  };
}

async function demoProcessors(): Promise<Array<{ name: string }>> {
  const files = (await readdir(join(DEMO, "processors")))
    .filter((file) => file.endsWith(".json") && !file.endsWith(".test.json"))
    .sort();
  return Promise.all(
    files.map(async (file) => JSON.parse(await readFile(join(DEMO, "processors", file), "utf8"))),
  );
}

describe("the Atlas Admin API streams routes", () => {
  it("creates the demo's stream instance and connections with curl --digest", async () => {
    const created = await curl("POST", streams, {
      name: INSTANCE,
      dataProcessRegion: { cloudProvider: "AWS", region: "VIRGINIA_USA" },
      streamConfig: { tier: "SP10" },
    });
    expect(created.status).toBe(200);
    expect(created.contentType).toMatch(/^application\/vnd\.atlas\.2023-02-01\+json/);
    expect(created.body).toMatchObject({
      name: INSTANCE,
      groupId: GROUP,
      _id: expect.stringMatching(/^[0-9a-f]{24}$/),
    });

    const { connections } = JSON.parse(
      await readFile(join(DEMO, "connections/connections.json"), "utf8"),
    ) as {
      connections: Array<{ name: string; type: string; config: Record<string, unknown> }>;
    };
    for (const { name, type, config } of connections) {
      // The Admin API's connection shape: the settings at the top level.
      const reply = await curl("POST", `${streams}/${INSTANCE}/connections`, { name, type, ...config });
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      expect(reply.body).toMatchObject({ name, type });
    }
    const listed = await curl("GET", `${streams}/${INSTANCE}/connections`);
    expect(listed.body.results.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining(["mongoDBSink", "flaskService", "shoppingCartKafkaEventSource"]),
    );
    expect(listed.body.totalCount).toBe(listed.body.results.length);
  });

  it("creates the ten processors with fetch, as the demo does, and lists them with their stats", async () => {
    const processors = await demoProcessors();
    expect(processors).toHaveLength(10);
    for (const definition of processors) {
      const reply = await fetchDigest("POST", `${streams}/${INSTANCE}/processor`, definition);
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      expect(reply.contentType).toMatch(/^application\/vnd\.atlas\.2024-05-30\+json/);
      expect(reply.body).toMatchObject({ name: definition.name, state: "CREATED" });
    }
    const listed = await fetchDigest("GET", `${streams}/${INSTANCE}/processors`);
    expect(listed.body.totalCount).toBe(10);
    for (const processor of listed.body.results) {
      expect(processor).toMatchObject({ state: "CREATED", stats: { inputMessageCount: 0, ok: 1 } });
    }
  });

  it("starts and stops a processor, then modifies and deletes it", async () => {
    const url = `${streams}/${INSTANCE}/processor/orderValidationStreamProcessor`;
    const started = await curl("POST", `${url}:start`);
    expect(started, JSON.stringify(started.body)).toMatchObject({ status: 200, body: {} });
    expect((await curl("GET", url)).body).toMatchObject({ state: "STARTED", stats: { status: "running" } });
    expect((await curl("POST", `${url}:stop`)).status).toBe(200);
    expect((await curl("GET", url)).body.state).toBe("STOPPED");

    const modified = await fetchDigest("PATCH", url, { options: { resumeFromCheckpoint: false } });
    expect(modified.status, JSON.stringify(modified.body)).toBe(200);
    expect((await fetchDigest("DELETE", url)).status).toBe(204);
    expect((await fetchDigest("GET", `${streams}/${INSTANCE}/processors`)).body.totalCount).toBe(9);
  }, 30_000);

  it("replaces a connection's settings with PATCH", async () => {
    const url = `${streams}/${INSTANCE}/connections/flaskService`;
    const patched = await fetchDigest("PATCH", url, { type: "Https", url: "http://127.0.0.1:1/orders" });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({
      name: "flaskService",
      type: "Https",
      url: "http://127.0.0.1:1/orders",
    });
    expect((await curl("GET", url)).body).toMatchObject({ url: "http://127.0.0.1:1/orders" });

    const renamed = await fetchDigest("PATCH", url, { name: "other", type: "Https", url: "http://x/" });
    expect(renamed).toMatchObject({ status: 400, body: { errorCode: "INVALID_ATTRIBUTE" } });
    expect(renamed.body.detail).toMatch(/expected 'flaskService'/);
    const missing = await fetchDigest("PATCH", `${streams}/${INSTANCE}/connections/nobody`, {
      type: "Https",
      url: "http://x/",
    });
    expect(missing).toMatchObject({ status: 404, body: { errorCode: "STREAM_CONNECTION_NOT_FOUND" } });
  });

  it("answers errors in Atlas's shape with Atlas's codes", async () => {
    const [first] = await demoProcessors();
    const duplicate = await fetchDigest("POST", `${streams}/${INSTANCE}/processor`, first);
    expect(duplicate).toMatchObject({
      status: 409,
      body: {
        error: 409,
        errorCode: "STREAM_PROCESSOR_ALREADY_EXISTS",
        reason: "Conflict",
        parameters: [],
        detail: expect.stringContaining(first.name),
      },
    });
    const missing = await curl("GET", `${streams}/noSuchInstance/processors`);
    expect(missing).toMatchObject({ status: 404, body: { errorCode: "STREAM_TENANT_NOT_FOUND_FOR_NAME" } });
    const noProcessor = await curl("POST", `${streams}/${INSTANCE}/processor/nobody:start`);
    expect(noProcessor).toMatchObject({ status: 404, body: { errorCode: "STREAM_PROCESSOR_NOT_FOUND" } });
  });

  it("refuses a wrong private key and answers a bearer token", async () => {
    expect((await curl("GET", streams, undefined, "wrong-private-key")).status).toBe(401);
    expect((await fetchDigest("GET", streams, undefined, "wrong-private-key")).status).toBe(401);
    const challenge = await fetch(streams);
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get("www-authenticate")).toMatch(/^Digest realm="MMS Public API", .*qop="auth"/);
    const bearer = await fetch(streams, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    expect(bearer.headers.get("content-type")).toMatch(/^application\/vnd\.atlas\.2023-02-01\+json/);
    expect(
      ((await bearer.json()) as { results: Array<{ name: string }> }).results.map((r) => r.name),
    ).toContain(INSTANCE);
  });

  it("deletes the stream instance with its connections and processors", async () => {
    expect((await curl("DELETE", `${streams}/${INSTANCE}`)).status).toBe(202);
    expect((await curl("GET", `${streams}/${INSTANCE}`)).status).toBe(404);
  });
});

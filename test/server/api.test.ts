// The HTTP API without running processors: routing, auth, bodies, workspaces, connections, definitions,
// lifecycle refusals. Every refused request is checked to leave the stored state as it was.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest, startTestServer, TOKEN, type TestServer } from "./helpers.ts";
import { testServices } from "../support/services.ts";

let server: TestServer;
const P = "/api/v1/workspaces/default/processors";
const C = "/api/v1/workspaces/default/connections";

const merge = { $merge: { into: { connectionName: "atlas", db: "out", coll: "solar" } } };
const solarPipeline = [
  { $source: { connectionName: "sample_stream_solar" } },
  { $match: { obs: { $gt: 0 } } },
  merge,
];

beforeAll(async () => {
  server = await startTestServer();
  const created = await server.api("POST", C, {
    name: "atlas",
    type: "Cluster",
    config: { uri: testServices().mongodbUri },
  });
  expect(created.status).toBe(201);
});
afterAll(async () => server.close());

/** The stored state a refused request must leave untouched. */
async function snapshot(): Promise<string> {
  const [ws, conns, procs] = await Promise.all([
    server.api("GET", "/api/v1/workspaces"),
    server.api("GET", C),
    server.api("GET", P),
  ]);
  return JSON.stringify([ws.body, conns.body, procs.body]);
}

async function expectRefused(
  request: Promise<{ status: number; body: unknown }>,
  status: number,
  errorCode: string,
): Promise<Record<string, unknown>> {
  const before = await snapshot();
  const reply = await request;
  expect(reply.status).toBe(status);
  expect(reply.body).toMatchObject({ error: status, errorCode });
  expect(typeof (reply.body as { detail: unknown }).detail).toBe("string");
  expect(await snapshot()).toBe(before);
  return reply.body as Record<string, unknown>;
}

describe("service endpoints", () => {
  it("answers /health and /ready", async () => {
    expect((await server.api("GET", "/health", undefined, { token: null })).body).toEqual({
      status: "ok",
      connections: [],
    });
    expect((await server.api("GET", "/ready", undefined, { token: null })).body).toEqual({ status: "ready" });
  });

  it("404s unknown paths and 405s wrong methods", async () => {
    expect((await server.api("GET", "/api/v1/nope")).body).toMatchObject({
      error: 404,
      reason: "Not Found",
      errorCode: "NOT_FOUND",
    });
    const wrong = await server.api("PUT", "/api/v1/workspaces");
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, POST");
  });
});

describe("authentication", () => {
  it("requires the bearer token on every API request, leaving state unchanged", async () => {
    const missing = await expectRefused(
      server.api("POST", "/api/v1/workspaces", { name: "nope" }, { token: null }),
      401,
      "UNAUTHORIZED",
    );
    expect(missing.detail).toMatch(/Authorization: Bearer/);
    await expectRefused(
      server.api("POST", "/api/v1/workspaces", { name: "nope" }, { token: "wrong" }),
      401,
      "INVALID_TOKEN",
    );
    await expectRefused(
      server.api("DELETE", `${C}/atlas`, undefined, { token: TOKEN + "x" }),
      401,
      "INVALID_TOKEN",
    );
    // Reads need it too, also from loopback (test/server/security.test.ts has the rest).
    expect((await server.api("GET", "/api/v1/workspaces", undefined, { token: null })).status).toBe(401);
  });
});

describe("request bodies", () => {
  it("rejects malformed JSON with its position", async () => {
    const body = await expectRefused(
      server.api("POST", P, undefined, { raw: '{"name": "p",\n "pipeline": [}' }),
      400,
      "INVALID_JSON",
    );
    expect(body.detail).toMatch(/unexpected '}', expected a JSON value at line 2, column 15 \(position 28\)/);
  });

  it("refuses a body over the limit with 413 from Content-Length, without reading it", async () => {
    const before = await snapshot();
    const reply = await rawRequest(server.url, {
      method: "POST",
      path: P,
      headers: {
        Authorization: `Bearer ${TOKEN}`,
        "Content-Type": "application/json",
        "Content-Length": 2 * 1024 * 1024,
      },
      send: Buffer.from('{"name": "'),
    });
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body)).toMatchObject({ error: 413, errorCode: "PAYLOAD_TOO_LARGE" });
    expect(await snapshot()).toBe(before);
  });

  it("refuses a streamed (chunked) body once it passes the limit", async () => {
    const small = await startTestServer({ maxBodyBytes: 1000 });
    try {
      const big = JSON.stringify({ name: "big", pipeline: [{ $match: { pad: "x".repeat(5000) } }] });
      const reply = await small.api("POST", P, undefined, { raw: big });
      expect(reply.status).toBe(413);
      expect((await small.api("GET", P)).body.results).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it("reports every schema problem with path, expected and got", async () => {
    const body = await expectRefused(
      server.api("POST", P, { name: 5, pipeline: {}, extra: true }),
      400,
      "INVALID_BODY",
    );
    expect(body.problems).toEqual([
      { path: "name", message: "name must be string", expected: "string", got: "number" },
      { path: "pipeline", message: "pipeline must be array", expected: "array", got: "object" },
      {
        path: "extra",
        message: "unknown field 'extra'",
        expected: "one of name, pipeline, options",
        got: "boolean",
      },
    ]);
  });
});

describe("workspaces", () => {
  it("lists default, creates, refuses duplicates and bad names, deletes", async () => {
    const list = await server.api("GET", "/api/v1/workspaces");
    expect(list.body.results).toContainEqual(
      expect.objectContaining({ name: "default", connections: 1, processors: 0 }),
    );
    const created = await server.api("POST", "/api/v1/workspaces", { name: "team-a" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "team-a", connections: 0, processors: 0 });
    await expectRefused(
      server.api("POST", "/api/v1/workspaces", { name: "team-a" }),
      409,
      "WORKSPACE_ALREADY_EXISTS",
    );
    const bad = await expectRefused(
      server.api("POST", "/api/v1/workspaces", { name: "no/slash" }),
      400,
      "INVALID_BODY",
    );
    expect(bad.problems).toEqual([expect.objectContaining({ path: "name", got: '"no/slash"' })]);
    expect((await server.api("GET", "/api/v1/workspaces/team-a")).body.name).toBe("team-a");
    expect((await server.api("DELETE", "/api/v1/workspaces/team-a")).status).toBe(200);
    await expectRefused(server.api("GET", "/api/v1/workspaces/team-a"), 404, "WORKSPACE_NOT_FOUND");
    await expectRefused(server.api("DELETE", "/api/v1/workspaces/default"), 409, "WORKSPACE_IN_USE");
    await expectRefused(server.api("GET", "/api/v1/workspaces/ghost/processors"), 404, "WORKSPACE_NOT_FOUND");
  });
});

describe("connections", () => {
  it("stores placeholders verbatim, hides literal secrets, lists built-ins", async () => {
    const created = await server.api("POST", C, {
      name: "kafka1",
      type: "Kafka",
      bootstrapServers: "127.0.0.1:19094",
      authentication: { mechanism: "PLAIN", username: "eddy", password: "{{KAFKA_PASSWORD}}" },
      security: { protocol: "SASL_PLAINTEXT" },
    });
    expect(created.status).toBe(201);
    expect(created.body.authentication.password).toBe("{{KAFKA_PASSWORD}}");
    const literal = await server.api("POST", C, {
      name: "lit",
      type: "Https",
      url: "https://api.example.com",
      headers: { Authorization: "Bearer literal-s3cret" },
    });
    expect(literal.body.headers.Authorization).toBe("***");
    expect(literal.text).not.toContain("literal-s3cret");
    const list = await server.api("GET", C);
    expect(list.body.results.map((c: { name: string }) => c.name)).toEqual([
      "atlas",
      "kafka1",
      "lit",
      "sample_stream_solar",
      "__testLog",
    ]);
    expect(list.text).not.toContain("literal-s3cret");
    expect((await server.api("GET", `${C}/sample_stream_solar`)).body).toMatchObject({
      builtIn: true,
      type: "Sample",
    });
    expect(server.logs.join("")).not.toContain("literal-s3cret");
    expect((await server.api("DELETE", `${C}/lit`)).status).toBe(200);
  });

  it("refuses duplicates, invalid bodies and unknown names, leaving state unchanged", async () => {
    await expectRefused(
      server.api("POST", C, { name: "atlas", type: "Cluster", config: { uri: "mongodb://x" } }),
      409,
      "CONNECTION_ALREADY_EXISTS",
    );
    const invalid = await expectRefused(
      server.api("POST", C, { name: "c2", type: "Cluster", config: { clusterName: "Cluster0" } }),
      400,
      "INVALID_CONNECTION",
    );
    expect(invalid.problems).toEqual([expect.objectContaining({ path: "config.uri", got: "missing" })]);
    await expectRefused(server.api("GET", `${C}/ghost`), 404, "CONNECTION_NOT_FOUND");
    await expectRefused(server.api("DELETE", `${C}/ghost`), 404, "CONNECTION_NOT_FOUND");
    await expectRefused(server.api("DELETE", `${C}/sample_stream_solar`), 409, "CONNECTION_BUILT_IN");
  });
});

describe("processor definitions", () => {
  it("creates a processor in CREATED and refuses a duplicate name", async () => {
    const created = await server.api("POST", P, { name: "defs", pipeline: solarPipeline });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "defs",
      workspace: "default",
      state: "CREATED",
      pipeline: solarPipeline,
      options: {},
    });
    expect(created.body.id).toMatch(/^[0-9a-f]{24}$/);
    expect(created.body.lastStateChange).toMatch(/^\d{4}-\d\d-\d\dT/);
    const body = await expectRefused(
      server.api("POST", P, { name: "defs", pipeline: solarPipeline }),
      409,
      "PROCESSOR_ALREADY_EXISTS",
    );
    expect(body.detail).toBe(
      "a processor named 'defs' already exists in workspace 'default'; drop it first or pick another name",
    );
  });

  it("names the JSON path of an unknown connection and of an invalid stage", async () => {
    const unknown = await expectRefused(
      server.api("POST", P, { name: "u", pipeline: [{ $source: { connectionName: "nope" } }, merge] }),
      400,
      "INVALID_PIPELINE",
    );
    expect(unknown.problems).toEqual([
      expect.objectContaining({ path: "pipeline[0].$source.connectionName", got: '"nope"' }),
    ]);
    const stage = await expectRefused(
      server.api("POST", P, {
        name: "v",
        pipeline: [solarPipeline[0], { $match: { a: { $bogus: 1 } } }, merge],
      }),
      400,
      "INVALID_PIPELINE",
    );
    expect((stage.problems as Array<{ path: string }>)[0].path).toMatch(/^pipeline\[1\]\.\$match/);
    const noSink = await expectRefused(
      server.api("POST", P, { name: "w", pipeline: [solarPipeline[0]] }),
      400,
      "INVALID_PIPELINE",
    );
    expect(JSON.stringify(noSink.problems)).toContain("must be $merge or $emit");
    await expectRefused(
      server.api("POST", P, { name: "bad name", pipeline: solarPipeline }),
      400,
      "INVALID_BODY",
    );
  });

  it("refuses invalid transitions with ASP's wording and leaves the state unchanged", async () => {
    await server.api("POST", P, { name: "idle", pipeline: solarPipeline });
    const stop = await expectRefused(server.api("POST", `${P}/idle:stop`), 409, "PROCESSOR_NOT_STARTED");
    expect(stop.detail).toMatch(/^stream processor does not exist: idle — /);
    await expectRefused(server.api("POST", `${P}/ghost:start`), 404, "PROCESSOR_NOT_FOUND");
    await expectRefused(
      server.api("POST", `${P}/idle:start`, { resumeFromCheckpoint: "yes" }),
      400,
      "INVALID_BODY",
    );
    await expectRefused(server.api("POST", `${P}/idle:pause`), 404, "NOT_FOUND");
  });

  it("modifies a stopped processor under ASP's rules", async () => {
    await server.api("POST", C, {
      name: "kafka2",
      type: "Kafka",
      bootstrapServers: testServices().kafkaBrokers.join(","),
    });
    const kafkaSource = { $source: { connectionName: "kafka2", topic: "t1" } };
    await server.api("POST", P, { name: "mod", pipeline: [kafkaSource, merge] });
    const changed = await server.api("PATCH", `${P}/mod`, {
      pipeline: [kafkaSource, { $match: { a: 1 } }, merge],
    });
    expect(changed.status).toBe(200);
    expect(changed.body.pipeline).toHaveLength(3);
    const refused = await expectRefused(
      server.api("PATCH", `${P}/mod`, {
        pipeline: [{ $source: { connectionName: "kafka2", topic: "t2" } }, merge],
      }),
      400,
      "MODIFY_NEEDS_RESET",
    );
    expect(refused.detail).toMatch(
      /^resumeFromCheckpoint must be false to modify a stream processor's \$source stage; /,
    );
    const reset = await server.api("PATCH", `${P}/mod`, {
      pipeline: [{ $source: { connectionName: "kafka2", topic: "t2" } }, merge],
      options: { resumeFromCheckpoint: false },
    });
    expect(reset.status).toBe(200);
    expect(reset.body.options).toEqual({});
    const renamed = await server.api("PATCH", `${P}/mod`, { name: "mod2" });
    expect(renamed.body).toMatchObject({ name: "mod2", id: changed.body.id });
    await expectRefused(server.api("GET", `${P}/mod`), 404, "PROCESSOR_NOT_FOUND");
    await expectRefused(server.api("PATCH", `${P}/mod2`, { name: "idle" }), 409, "PROCESSOR_ALREADY_EXISTS");
    expect((await server.api("DELETE", `${P}/mod2`)).status).toBe(200);
    await expectRefused(server.api("DELETE", `${P}/mod2`), 404, "PROCESSOR_NOT_FOUND");
  });

  it("reports zero stats for a processor that never ran", async () => {
    const stats = await server.api("GET", `${P}/idle/stats?scale=1024`);
    expect(stats.body).toMatchObject({
      ok: 1,
      ns: "default.idle",
      stats: {
        name: "idle",
        status: "created",
        scaleFactor: 1024,
        inputMessageCount: 0,
        outputMessageCount: 0,
        ok: 1,
      },
      pipeline: solarPipeline,
    });
    await expectRefused(server.api("GET", `${P}/idle/stats?scale=0`), 400, "INVALID_QUERY");
    expect((await server.api("GET", `${P}/idle/sample?limit=5&timeoutMs=0`)).body).toEqual({ messages: [] });
  });

  it("shows every processor's state in /metrics", async () => {
    const metrics = await server.api("GET", "/metrics");
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.text).toContain(
      'eddy_processor_state{workspace="default",processor="idle",state="CREATED"} 1',
    );
    expect(metrics.text).toContain(
      'eddy_processor_state{workspace="default",processor="idle",state="STARTED"} 0',
    );
    expect(metrics.text).toContain("# TYPE eddy_processor_input_messages_total counter");
  });
});

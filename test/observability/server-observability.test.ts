import { Producer } from "@platformatic/kafka";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaClientOptions } from "../../src/connectors/kafka/connection.ts";
import { startTestServer, TOKEN, type TestServer } from "../server/helpers.ts";
import { testServices, uniqueName } from "../support/services.ts";

const C = "/api/v1/workspaces/default/connections";
const P = "/api/v1/workspaces/default/processors";
let server: TestServer;
const topic = uniqueName("obs");

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 150; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  server = await startTestServer({ consoleIntervalMs: 200 });
  const brokers = testServices().kafkaBrokers.join(",");
  const producer = new Producer({
    ...kafkaClientOptions({ bootstrapServers: brokers }, "eddy-test-obs"),
    autocreateTopics: true,
  });
  await producer.send({
    messages: ['{"n":1}', "not json", '{"n":3}'].map((value) => ({ topic, value: Buffer.from(value) })),
  });
  await producer.close();
  await server.api("POST", C, { name: "kafka", type: "Kafka", config: { bootstrapServers: brokers } });
  await server.api("POST", C, {
    name: "gone",
    type: "Cluster",
    config: { uri: "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200&connectTimeoutMS=200" },
  });
});

afterAll(async () => {
  await server?.close();
});

describe("observability of a running Kafka processor", () => {
  it("shows offset lag in stats and /metrics, dead letters, process metrics, connection health and live events", async () => {
    const created = await server.api("POST", P, {
      name: "obs",
      pipeline: [
        { $source: { connectionName: "kafka", topic, config: { auto_offset_reset: "earliest" } } },
        { $emit: { connectionName: "__testLog" } },
      ],
    });
    expect(created.status).toBe(201);
    const started = await server.api("POST", `${P}/obs:start`);
    expect(started.body).toMatchObject({ state: "STARTED" });

    const stats = await until(async () => {
      const reply = (await server.api("GET", `${P}/obs/stats`)).body.stats;
      return reply.inputMessageCount === 3 && reply.kafkaTotalOffsetLag === 0 ? reply : undefined;
    }, "three records read with no lag");
    expect(stats.kafkaPartitions).toEqual([
      expect.objectContaining({ topic, partition: 0, currentOffset: 3, partitionOffsetLag: 0 }),
    ]);
    expect(stats.kafkaConsumerGroup).toBe("asp-obs-consumer");

    const metrics = (await server.api("GET", "/metrics")).text;
    expect(metrics).toContain(
      `eddy_source_lag_records{workspace="default",processor="obs",topic="${topic}",partition="0"} 0`,
    );
    expect(metrics).toContain('eddy_source_up{workspace="default",processor="obs"} 1');
    expect(metrics).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(metrics).toMatch(/^nodejs_eventloop_lag_p99_seconds [\d.e-]+/m);
    expect(metrics).toMatch(/^process_cpu_seconds_total [\d.e-]+/m);

    const dead = await server.api("GET", `${P}/obs/deadLetters`);
    expect(dead.body.results).toHaveLength(1);
    expect(dead.body.results[0].errInfo.reason).toMatch(/JSON|json/);

    const health = await server.api("GET", "/health", undefined, { token: null });
    expect(health.body).toEqual({
      status: "ok",
      connections: [
        expect.objectContaining({
          workspace: "default",
          name: "kafka",
          status: "reachable",
          reachable: true,
        }),
      ],
    });
    expect((await server.api("GET", "/ready", undefined, { token: null })).status).toBe(200);

    const events = await fetch(`${server.url}/api/v1/console/events`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(events.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = (events.body as ReadableStream<Uint8Array>)
      .pipeThrough(new TextDecoderStream())
      .getReader();
    let text = "";
    // The history first, then a sample every 200 ms; the first sample after the processor read its records.
    const sampleWith = /^event: sample\ndata: (\{.*"inputMessageCount":3.*\})$/m;
    while (!sampleWith.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    await reader.cancel();
    expect(text).toMatch(/^event: history\ndata: \{"processors":/);
    const sample = JSON.parse(sampleWith.exec(text)?.[1] ?? "{}");
    expect(sample.processors).toEqual([
      expect.objectContaining({
        name: "obs",
        state: "STARTED",
        inputMessageCount: 3,
        dlqMessageCount: 1,
        lagRecords: 0,
      }),
    ]);
    expect(sample.process.rssBytes).toBeGreaterThan(0);

    await server.api("POST", `${P}/obs:stop`);
  });

  it("is not ready while a started processor cannot reach its source, and says which connection", async () => {
    await server.api("POST", P, {
      name: "unreachable",
      pipeline: [
        { $source: { connectionName: "gone", db: "d", coll: "c" } },
        { $emit: { connectionName: "__testLog" } },
      ],
    });
    const started = await server.api("POST", `${P}/unreachable:start`);
    expect(started.status).toBe(200);
    const ready = await until(async () => {
      const reply = await server.api("GET", "/ready", undefined, { token: null });
      return reply.status === 503 ? reply : undefined;
    }, "/ready to fail");
    expect(ready.body).toMatchObject({ errorCode: "SOURCE_UNREACHABLE" });
    expect(ready.body.detail).toContain("default/unreachable");

    const anonymous = await server.api("GET", "/health", undefined, { token: null });
    expect(anonymous.body.status).toBe("degraded");
    const gone = (body: { connections: Array<{ name: string }> }) =>
      body.connections.find((c) => c.name === "gone");
    // It failed to start: retrying, it cannot tell which connection failed.
    expect(gone(anonymous.body)).toEqual({
      workspace: "default",
      name: "gone",
      status: "unknown",
      reachable: false,
      usedBy: ["unreachable"],
    });
    const authorized = await server.api("GET", "/health");
    expect(gone(authorized.body)).toHaveProperty("lastError", expect.any(String));

    await server.api("POST", `${P}/unreachable:stop`);
    expect((await server.api("GET", "/ready", undefined, { token: null })).status).toBe(200);
  });
});

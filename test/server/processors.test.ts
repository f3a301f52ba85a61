// Processors running under the server: sample and Kafka sources writing to MongoDB, stats, /metrics,
// sample, stop/start, concurrency, secrets, failures and a server restart.
import { Producer } from "@platformatic/kafka";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaClientOptions } from "../../src/connectors/kafka/connection.ts";
import { testServices, uniqueName } from "../support/services.ts";
import { eventually, startTestServer, type TestServer } from "./helpers.ts";

const SECRET = "eddy-secret"; // the SASL password of the test broker, given to the server as {{KAFKA_SECRET}}
const HOST_SECRET = "secret-host-q9z7.example.invalid";
const db = uniqueName("eddy_server");
const P = "/api/v1/workspaces/default/processors";
const C = "/api/v1/workspaces/default/connections";
let server: TestServer;
let mongo: MongoClient;

const into = (coll: string) => ({ $merge: { into: { connectionName: "atlas", db, coll } } });
const count = (coll: string) => mongo.db(db).collection(coll).countDocuments();

async function stats(name: string) {
  return (await server.api("GET", `${P}/${name}/stats?verbose=true`)).body.stats;
}

async function moved(name: string, beyond = 0): Promise<number> {
  return eventually(
    async () => {
      const n = (await stats(name)).inputMessageCount as number;
      return n > beyond ? n : undefined;
    },
    30_000,
    `${name} to read more than ${beyond} documents`,
  );
}

/** The server's allow-list of environment variables that placeholders may read (docs/security.md). */
const ALLOWED_VARIABLES = { prefixes: [], names: ["KAFKA_SECRET", "BAD_HOST", "ATLAS_URI"] };

beforeAll(async () => {
  mongo = new MongoClient(testServices().mongodbUri);
  server = await startTestServer({
    variables: ALLOWED_VARIABLES,
    env: {
      ...process.env,
      KAFKA_SECRET: SECRET,
      BAD_HOST: HOST_SECRET,
      ATLAS_URI: testServices().mongodbUri,
    },
  });
  const { mongodbUri, kafkaBrokers } = testServices();
  for (const body of [
    { name: "atlas", type: "Cluster", config: { uri: mongodbUri } },
    { name: "fast_solar", type: "Sample", config: { dataset: "sample_stream_solar", rate: 200, seed: 7 } },
    { name: "kafka", type: "Kafka", config: { bootstrapServers: kafkaBrokers.join(",") } },
    { name: "nowhere", type: "Cluster", config: { uri: "mongodb+srv://{{BAD_HOST}}/" } },
    { name: "unset", type: "Cluster", config: { uri: "mongodb://{{EDDY_SURELY_UNSET_VAR}}/" } },
  ]) {
    expect((await server.api("POST", C, body)).status).toBe(201);
  }
});

afterAll(async () => {
  await server?.close();
  await mongo.db(db).dropDatabase();
  await mongo.close();
});

describe("a sample source merged into MongoDB", () => {
  it("runs, moves its stats, writes documents, shows in /metrics and /sample, stops with final stats", async () => {
    await server.api("POST", P, {
      name: "solar",
      pipeline: [{ $source: { connectionName: "fast_solar" } }, into("solar")],
    });
    const started = await server.api("POST", `${P}/solar:start`);
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ state: "STARTED", status: { state: "running" } });

    await moved("solar", 50);
    await eventually(
      async () => ((await count("solar")) > 50 ? true : undefined),
      30_000,
      "documents in MongoDB",
    );
    const live = await stats("solar");
    expect(live).toMatchObject({ name: "solar", status: "running", scaleFactor: 1, ok: 1 });
    expect(live.processorId).toBe(started.body.id);
    expect(live.outputMessageCount).toBeGreaterThan(0);
    expect(live.operatorStats.map((o: { name: string }) => o.name)).toEqual([
      "SampleDataSourceOperator",
      "MergeOperator",
    ]);

    const metrics = (await server.api("GET", "/metrics")).text;
    const input = /eddy_processor_input_messages_total\{workspace="default",processor="solar"\} (\d+)/.exec(
      metrics,
    );
    expect(Number(input?.[1])).toBeGreaterThan(0);
    expect(metrics).toMatch(
      /eddy_processor_output_messages_total\{workspace="default",processor="solar"\} [1-9]\d*/,
    );
    expect(metrics).toMatch(
      /eddy_processor_latency_seconds_bucket\{workspace="default",processor="solar",le="\+Inf"\} [1-9]\d*/,
    );
    expect(metrics).toMatch(
      /eddy_processor_latency_seconds_count\{workspace="default",processor="solar"\} [1-9]\d*/,
    );
    expect(metrics).toContain(
      'eddy_processor_state{workspace="default",processor="solar",state="STARTED"} 1',
    );

    const sample = await server.api("GET", `${P}/solar/sample?limit=3`);
    expect(sample.body.messages).toHaveLength(3);
    expect(sample.body.messages[0]).toHaveProperty("device_id");

    await expectUnchangedConflict(
      server.api("POST", `${P}/solar:start`),
      "PROCESSOR_ALREADY_STARTED",
      "solar",
    );
    await expectUnchangedConflict(
      server.api("PATCH", `${P}/solar`, { pipeline: [] }),
      "PROCESSOR_RUNNING",
      "solar",
    );
    await expectUnchangedConflict(server.api("DELETE", `${C}/atlas`), "CONNECTION_IN_USE", "solar");

    const stopped = await server.api("POST", `${P}/solar:stop`);
    expect(stopped.status).toBe(200);
    expect(stopped.body.state).toBe("STOPPED");
    const finalCount = stopped.body.stats.inputMessageCount as number;
    expect(finalCount).toBeGreaterThan(50);
    const after = await stats("solar");
    expect(after).toMatchObject({ status: "stopped", inputMessageCount: finalCount });
    expect((await server.api("GET", `${P}/solar/stats/history`)).body.results.length).toBeGreaterThan(0);

    // Started again, it resumes from its checkpoint: the counters continue.
    expect((await server.api("POST", `${P}/solar:start`)).status).toBe(200);
    await moved("solar", finalCount);
    expect((await server.api("POST", `${P}/solar:stop`)).status).toBe(200);
  });
});

async function expectUnchangedConflict(
  request: Promise<{ status: number; body: { errorCode: string } }>,
  code: string,
  name: string,
) {
  const before = (await server.api("GET", `${P}/${name}`)).body;
  const reply = await request;
  expect(reply.status).toBe(409);
  expect(reply.body.errorCode).toBe(code);
  const after = (await server.api("GET", `${P}/${name}`)).body;
  expect({ ...after, status: undefined }).toEqual({ ...before, status: undefined });
}

describe("a windowed processor", () => {
  it("reports its watermark lag and state size in /metrics", async () => {
    const window = {
      $tumblingWindow: {
        interval: { size: 1, unit: "second" },
        pipeline: [{ $group: { _id: "$device_id", n: { $sum: 1 } } }],
      },
    };
    await server.api("POST", P, {
      name: "windows",
      pipeline: [{ $source: { connectionName: "fast_solar" } }, window, into("windows")],
    });
    expect((await server.api("POST", `${P}/windows:start`)).status).toBe(200);
    await eventually(
      async () => ((await stats("windows")).watermark ? true : undefined),
      30_000,
      "a watermark",
    );
    const metrics = (await server.api("GET", "/metrics")).text;
    expect(metrics).toMatch(
      /eddy_processor_watermark_lag_seconds\{workspace="default",processor="windows"\} \d/,
    );
    expect(metrics).toMatch(/eddy_processor_state_size_bytes\{workspace="default",processor="windows"\} \d+/);
    expect((await server.api("POST", `${P}/windows:stop`)).status).toBe(200);
  });
});

describe("serialised operations", () => {
  it("lets exactly one of many concurrent starts (and stops) through", async () => {
    await server.api("POST", P, {
      name: "racy",
      pipeline: [{ $source: { connectionName: "fast_solar" } }, into("racy")],
    });
    const starts = await Promise.all(Array.from({ length: 5 }, () => server.api("POST", `${P}/racy:start`)));
    expect(starts.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409]);
    const stops = await Promise.all(Array.from({ length: 5 }, () => server.api("POST", `${P}/racy:stop`)));
    expect(stops.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409]);

    const mixed = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        server
          .api("POST", `${P}/racy:${i % 2 === 0 ? "start" : "stop"}`)
          .then((r) => ({ op: i % 2 === 0 ? "start" : "stop", r })),
      ),
    );
    const ok = mixed.filter((m) => m.r.status === 200);
    expect(mixed.every((m) => m.r.status === 200 || m.r.status === 409)).toBe(true);
    const startsOk = ok.filter((m) => m.op === "start").length;
    const stopsOk = ok.filter((m) => m.op === "stop").length;
    // Serialised: successful starts and stops alternate, beginning with a start.
    expect(startsOk - stopsOk === 0 || startsOk - stopsOk === 1).toBe(true);
    const state = (await server.api("GET", `${P}/racy`)).body.state;
    expect(state).toBe(startsOk > stopsOk ? "STARTED" : "STOPPED");
    if (state === "STARTED") await server.api("POST", `${P}/racy:stop`);
  });
});

describe("a Kafka source merged into MongoDB", () => {
  it("reads produced messages into the collection", async () => {
    const topic = uniqueName("eddy_srv");
    await server.api("POST", P, {
      name: "orders",
      pipeline: [
        {
          $source: {
            connectionName: "kafka",
            topic,
            config: { auto_offset_reset: "earliest", group_id: uniqueName("g") },
          },
        },
        { $addFields: { total: { $multiply: ["$qty", "$price"] } } },
        into("orders"),
      ],
    });
    const producer = new Producer({
      ...kafkaClientOptions({ bootstrapServers: testServices().kafkaBrokers.join(",") }, "eddy-srv-test"),
      autocreateTopics: true,
    });
    await producer.send({
      messages: Array.from({ length: 20 }, (_, i) => ({
        topic,
        value: Buffer.from(JSON.stringify({ _id: i, qty: i, price: 2 })),
      })),
    });
    await producer.close();
    expect((await server.api("POST", `${P}/orders:start`)).status).toBe(200);
    await eventually(
      async () => ((await count("orders")) === 20 ? true : undefined),
      30_000,
      "20 orders in MongoDB",
    );
    expect(
      await mongo
        .db(db)
        .collection("orders")
        .findOne({ _id: 3 as never }),
    ).toMatchObject({ total: 6 });
    expect((await stats("orders")).inputMessageCount).toBe(20);
    expect((await server.api("POST", `${P}/orders:stop`)).status).toBe(200);
  });
});

describe("secrets", () => {
  it("runs a SASL Kafka source with a {{VAR}} password and never shows it", async (context) => {
    const sasl = testServices().kafkaSasl;
    if (!sasl) context.skip();
    await server.api("POST", C, {
      name: "kafka_sasl",
      type: "Kafka",
      bootstrapServers: sasl!.brokers.join(","),
      authentication: { mechanism: "PLAIN", username: sasl!.username, password: "{{KAFKA_SECRET}}" },
      security: { protocol: "SASL_PLAINTEXT" },
    });
    const topic = uniqueName("eddy_sasl");
    await server.api("POST", P, {
      name: "sasl",
      pipeline: [
        { $source: { connectionName: "kafka_sasl", topic, config: { auto_offset_reset: "earliest" } } },
        into("sasl"),
      ],
    });
    const producer = new Producer({
      ...kafkaClientOptions({ bootstrapServers: testServices().kafkaBrokers.join(",") }, "eddy-srv-test"),
      autocreateTopics: true,
    });
    await producer.send({
      messages: [1, 2, 3].map((i) => ({ topic, value: Buffer.from(JSON.stringify({ _id: i })) })),
    });
    await producer.close();
    expect((await server.api("POST", `${P}/sasl:start`)).status).toBe(200);
    await eventually(
      async () => ((await count("sasl")) === 3 ? true : undefined),
      30_000,
      "3 documents read over SASL",
    );
    expect((await server.api("GET", `${P}/sasl`)).body.state).toBe("STARTED");
    expect((await server.api("POST", `${P}/sasl:stop`)).status).toBe(200);
  });

  it("fails a processor whose server cannot be found, with the {{VAR}} host redacted from its error", async () => {
    await server.api("POST", P, {
      name: "lost",
      pipeline: [
        { $source: { connectionName: "fast_solar" } },
        { $merge: { into: { connectionName: "nowhere", db, coll: "lost" } } },
      ],
    });
    expect((await server.api("POST", `${P}/lost:start`)).status).toBe(200);
    const failed = await eventually(
      async () => {
        const p = (await server.api("GET", `${P}/lost`)).body;
        return p.state === "FAILED" ? p : undefined;
      },
      25_000,
      "the processor to be FAILED",
    );
    // The driver's message names the host it looked up: the server shows *** instead.
    expect(failed.errorMsg).toMatch(/\*\*\*/);
    expect(failed.errorMsg).toMatch(/still failing after \d+ s of retries/);
    expect(failed.status).toMatchObject({ state: "failed" });
    expect((await stats("lost")).status).toBe("error");
    const metrics = (await server.api("GET", "/metrics")).text;
    expect(metrics).toContain('eddy_processor_state{workspace="default",processor="lost",state="FAILED"} 1');
  });

  it("refuses to start when a variable is missing, naming it and the connection, state unchanged", async () => {
    await server.api("POST", P, {
      name: "novar",
      pipeline: [
        { $source: { connectionName: "fast_solar" } },
        { $merge: { into: { connectionName: "unset", db, coll: "x" } } },
      ],
    });
    const reply = await server.api("POST", `${P}/novar:start`);
    expect(reply.status).toBe(400);
    expect(reply.body.errorCode).toBe("MISSING_VARIABLE");
    expect(reply.body.detail).toMatch(
      /connection 'unset' in workspace 'default': config\.uri uses \{\{EDDY_SURELY_UNSET_VAR\}\} but EDDY_SURELY_UNSET_VAR is not set/,
    );
    expect((await server.api("GET", `${P}/novar`)).body.state).toBe("CREATED");
  });

  it("keeps every secret out of responses and log lines", async () => {
    const texts = [
      ...(await Promise.all(
        [
          "/api/v1/workspaces",
          C,
          P,
          `${P}/sasl`,
          `${P}/lost`,
          `${P}/lost/stats?verbose=true`,
          "/metrics",
        ].map(async (path) => (await server.api("GET", path)).text),
      )),
      ...server.logs,
    ].join("\n");
    expect(texts).toContain("{{KAFKA_SECRET}}");
    expect(texts).not.toContain(SECRET);
    expect(texts).not.toContain(HOST_SECRET);
  });
});

describe("server restart", () => {
  it("brings a STARTED processor back from its checkpoint", async () => {
    await server.api("POST", P, {
      name: "phoenix",
      pipeline: [{ $source: { connectionName: "fast_solar" } }, into("phoenix")],
    });
    await server.api("POST", `${P}/phoenix:start`);
    // A processor whose connection needs a variable the restarted server will not have.
    await server.api("POST", C, { name: "atlas_var", type: "Cluster", config: { uri: "{{ATLAS_URI}}" } });
    await server.api("POST", P, {
      name: "orphan",
      pipeline: [
        { $source: { connectionName: "fast_solar" } },
        { $merge: { into: { connectionName: "atlas_var", db, coll: "orphan" } } },
      ],
    });
    expect((await server.api("POST", `${P}/orphan:start`)).status).toBe(200);
    await moved("phoenix", 50);
    await server.close();
    const before = (await server.api("GET", `${P}/phoenix`).catch(() => undefined))?.status;
    expect(before).toBeUndefined(); // closed: nobody answers

    server = await startTestServer({
      dataDir: server.dataDir,
      variables: ALLOWED_VARIABLES,
      env: { ...process.env, KAFKA_SECRET: SECRET, BAD_HOST: HOST_SECRET },
    });
    await server.resumed;
    const back = await server.api("GET", `${P}/phoenix`);
    expect(back.body).toMatchObject({ state: "STARTED", status: { state: "running" } });
    // Stats restored from the final checkpoint, and still moving.
    const restored = (await stats("phoenix")).inputMessageCount as number;
    expect(restored).toBeGreaterThan(50);
    await moved("phoenix", restored);
    // Processors stopped before the restart stay stopped.
    expect((await server.api("GET", `${P}/solar`)).body.state).toBe("STOPPED");
    expect((await server.api("GET", `${P}/lost`)).body.state).toBe("FAILED");
    // One that cannot come back is FAILED, saying why.
    const orphan = (await server.api("GET", `${P}/orphan`)).body;
    expect(orphan.state).toBe("FAILED");
    expect(orphan.errorMsg).toMatch(
      /connection 'atlas_var' in workspace 'default': config\.uri uses \{\{ATLAS_URI\}\} but ATLAS_URI is not set/,
    );
    expect((await server.api("POST", `${P}/phoenix:stop`)).status).toBe(200);
  });
});

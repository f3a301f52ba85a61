// How connectors classify failures for the supervisor (ConnectorError.retryable), against real servers
// where one can produce the failure: a wrong SASL password, a port nobody listens on, names MongoDB rejects.
import { MongoClient, MongoServerError } from "mongodb";
import { describe, expect, it } from "vitest";
import { kafkaClientOptions } from "../../src/connectors/kafka/connection.ts";
import { KafkaEmitSink, type EmitSinkPlan } from "../../src/connectors/kafka/emit-sink.ts";
import type { KafkaSourcePlan } from "../../src/connectors/kafka/source.ts";
import type { ChangeStreamSourcePlan } from "../../src/connectors/mongodb/change-stream-source.ts";
import { KafkaSource } from "../../src/connectors/kafka/source.ts";
import { ChangeStreamSource } from "../../src/connectors/mongodb/change-stream-source.ts";
import { isTransientMongoError, mongoFailure } from "../../src/connectors/mongodb/errors.ts";
import { MergeSink } from "../../src/connectors/mongodb/merge-sink.ts";
import type { Doc } from "../../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor } from "../../src/pipeline/index.ts";
import type { ProcessorPlan } from "../../src/pipeline/plan.ts";
import { ConnectorError } from "../../src/runtime/errors.ts";
import { testServices, uniqueName } from "../support/services.ts";
import { CONNECTORS } from "../../src/connectors/registry.ts";

const catalog = new MapConnectionCatalog([
  { name: "k", type: "Kafka", config: {} },
  { name: "db", type: "Cluster", config: {} },
]);

function plan(pipeline: Doc[]): ProcessorPlan {
  return planProcessor(
    { name: "errors", pipeline },
    { connectors: CONNECTORS, connections: catalog, ephemeral: true },
  );
}

async function failure(promise: Promise<unknown>): Promise<ConnectorError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectorError);
  return error as ConnectorError;
}

describe("Kafka failure classification", () => {
  const emitPlan = () => {
    const p = plan([
      { $source: { documents: [] } },
      { $emit: { connectionName: "k", topic: uniqueName("t") } },
    ]);
    if (p.sink?.kind !== "emit" || p.sink.type !== "Kafka") throw new Error("expected $emit");
    return p.sink as EmitSinkPlan;
  };

  it("a wrong SASL password is permanent, with a message that says what to fix", async (context) => {
    const sasl = testServices().kafkaSasl;
    if (!sasl) return context.skip();
    const client = {
      ...kafkaClientOptions(
        {
          bootstrapServers: sasl.brokers.join(","),
          authentication: { mechanism: "PLAIN", username: sasl.username, password: "wrong" },
        },
        "errors-badpass",
      ),
      retries: 0,
    };
    const sink = new KafkaEmitSink(client, emitPlan(), { retry: { attempts: 3, initialDelayMs: 10 } });
    const error = await failure(sink.write([{ a: 1 }]));
    await sink.close().catch(() => undefined);
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/authentication .*check the connection's authentication/);

    const p = plan([{ $source: { connectionName: "k", topic: "any" } }]);
    if (p.source.type !== "Kafka") throw new Error("expected a Kafka source");
    const source = new KafkaSource(client, p.source as KafkaSourcePlan, { fallbackGroupId: uniqueName("g") });
    const startError = await failure(source.start());
    await source.close();
    expect(startError.retryable).toBe(false);
  }, 30_000);

  it("a broker nobody listens on is transient (ECONNREFUSED), after the sink's own retries", async () => {
    const client = {
      ...kafkaClientOptions({ bootstrapServers: "127.0.0.1:1" }, "errors-refused"),
      retries: 0,
    };
    let retries = 0;
    const sink = new KafkaEmitSink(client, emitPlan(), {
      retry: { attempts: 3, initialDelayMs: 10 },
      onRetry: () => retries++,
    });
    const error = await failure(sink.write([{ a: 1 }]));
    await sink.close().catch(() => undefined);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("ECONNREFUSED");
    expect(retries).toBe(2);
  }, 30_000);
});

describe("MongoDB failure classification", () => {
  it("an unreachable server is transient; the $merge sink retries before it gives up", async () => {
    const client = new MongoClient("mongodb://127.0.0.1:1/?directConnection=true", {
      serverSelectionTimeoutMS: 200,
    });
    const p = plan([
      { $source: { documents: [] } },
      { $merge: { into: { connectionName: "db", db: "d", coll: "c" } } },
    ]);
    if (p.sink?.kind !== "merge") throw new Error("expected $merge");
    let retries = 0;
    const sink = new MergeSink(client, p.sink, {
      retry: { attempts: 3, initialDelayMs: 10 },
      onRetry: () => retries++,
    });
    const error = await failure(sink.write([{ _id: 1 }]));
    await client.close();
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/^\$merge to d\.c failed: /);
    // The first attempt's server selection fails (ECONNREFUSED) and is retried; a client whose very first
    // connection failed is closed by the driver, so later attempts end the inline retries and the
    // supervisor's restart (with a new client) takes over.
    expect(retries).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it("a literal $merge namespace MongoDB rejects fails at once; a dynamic one dead-letters the document", async () => {
    const client = new MongoClient(testServices().mongodbUri);
    const literal = plan([
      { $source: { documents: [] } },
      { $merge: { into: { connectionName: "db", db: "bad.name", coll: "c" } } },
    ]);
    if (literal.sink?.kind !== "merge") throw new Error("expected $merge");
    const sinkPlan = literal.sink;
    let thrown: unknown;
    try {
      new MergeSink(client, sinkPlan);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConnectorError);
    expect((thrown as ConnectorError).retryable).toBe(false);
    expect((thrown as Error).message).toContain("invalid database name 'bad.name'");

    const db = uniqueName("errors");
    const dynamic = plan([
      { $source: { documents: [] } },
      { $merge: { into: { connectionName: "db", db, coll: "$target" } } },
    ]);
    if (dynamic.sink?.kind !== "merge") throw new Error("expected $merge");
    const result = await new MergeSink(client, dynamic.sink).write([
      { _id: 1, target: "ok" },
      { _id: 2, target: "bad$coll" },
    ]);
    expect(result.failures).toEqual([
      {
        index: 1,
        message:
          "Failed to evaluate target namespace in MergeOperator with error: invalid collection name 'bad$coll': it may not contain $ or NUL",
      },
    ]);
    await client.db(db).dropDatabase();
    await client.close();
  });

  it("a change stream on an invalid namespace fails at start, permanently", async () => {
    const client = new MongoClient(testServices().mongodbUri);
    const p = plan([{ $source: { connectionName: "db", db: "bad/db", coll: "c" } }]);
    if (p.source.type !== "Cluster") throw new Error("expected a change stream");
    const error = await failure(new ChangeStreamSource(client, p.source as ChangeStreamSourcePlan).start());
    await client.close();
    expect(error.retryable).toBe(false);
  });

  it("classifies server codes the stand-in cannot produce: auth and lost history permanent, not-primary transient", () => {
    // mongo-java-server has no authentication, elections or oplog truncation (docs/testing.md), so these
    // are the driver's own error objects with the codes real MongoDB sends.
    const server = (code: number, codeName: string) =>
      new MongoServerError({ ok: 0, code, codeName, errmsg: codeName });
    expect(mongoFailure(server(18, "AuthenticationFailed"), "x").retryable).toBe(false);
    expect(mongoFailure(server(286, "ChangeStreamHistoryLost"), "x").retryable).toBe(false);
    expect(mongoFailure(server(73, "InvalidNamespace"), "x").retryable).toBe(false);
    expect(isTransientMongoError(server(10107, "NotWritablePrimary"))).toBe(true);
    expect(isTransientMongoError(server(91, "ShutdownInProgress"))).toBe(true);
    expect(isTransientMongoError(server(11000, "DuplicateKey"))).toBe(false);
    expect(mongoFailure(new Error("something unexpected"), "x").retryable).toBe(true);
  });
});

import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { Admin } from "@platformatic/kafka";
import { kafkaClientOptions } from "../../../src/connectors/kafka/connection.ts";
import { describe, expect, it } from "vitest";
import { KafkaEmitSink, type EmitSinkPlan } from "../../../src/connectors/kafka/emit-sink.ts";
import type { Doc } from "../../../src/mql/index.ts";
import { ConnectorError } from "../../../src/runtime/errors.ts";
import { MapConnectionCatalog, planProcessor } from "../../../src/pipeline/index.ts";
import { readMessages, testKafkaClient } from "../../support/kafka.ts";
import { uniqueName } from "../../support/services.ts";
import { CONNECTORS } from "../../../src/connectors/registry.ts";

const catalog = new MapConnectionCatalog([{ name: "k", type: "Kafka", config: {} }]);

function emitPlan(emit: Doc): EmitSinkPlan {
  const plan = planProcessor(
    { pipeline: [{ $source: { documents: [] } }, { $emit: { connectionName: "k", ...emit } }] },
    { connectors: CONNECTORS, connections: catalog },
  );
  if (plan.sink?.kind !== "emit" || plan.sink.type !== "Kafka") throw new Error("expected an $emit sink");
  return plan.sink as EmitSinkPlan;
}

interface Received {
  topic: string;
  key: Buffer | undefined;
  value: string | undefined;
  headers: Record<string, string>;
}

async function readAll(topics: string[], count: number): Promise<Received[]> {
  return (await readMessages(topics, count)).map((message) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of message.headers) headers[k.toString()] = v.toString("hex");
    return {
      topic: message.topic,
      key: message.key?.length ? message.key : undefined,
      value: message.value?.length ? message.value.toString() : undefined,
      headers,
    };
  });
}

describe("KafkaEmitSink", () => {
  const client = () => testKafkaClient("eddy-test-emit");

  it("writes documents as relaxed Extended JSON to per-document topics with keys and headers", async () => {
    const prefix = uniqueName("emit");
    const sink = new KafkaEmitSink(
      client(),
      emitPlan({
        topic: { $concat: [prefix, "_", "$kind"] },
        config: {
          key: "$id",
          keyFormat: "int",
          headers: { source: "eddy", n: "$id" },
          dateFormat: "ISO8601",
        },
      }),
    );
    const at = new Date("2024-01-02T03:04:05.006Z");
    const result = await sink.write([
      { id: 1, kind: "a", at },
      { id: 2, kind: "b", at },
      { id: 3, kind: 7 },
      { id: "x", kind: "a" },
    ]);
    await sink.close();
    expect(result.failures?.map((f) => f.index)).toEqual([2, 3]);
    expect(result.failures?.[0].message).toBe("$concat only supports strings, not int");
    expect(result.failures?.[1].message).toContain("cannot be written with keyFormat int");

    const received = await readAll([`${prefix}_a`, `${prefix}_b`], 2);
    const byTopic = Object.fromEntries(received.map((r) => [r.topic, r]));
    expect(JSON.parse(byTopic[`${prefix}_a`].value as string)).toEqual({
      id: 1,
      kind: "a",
      at: "2024-01-02T03:04:05.006Z",
    });
    expect([...(byTopic[`${prefix}_a`].key as Buffer)]).toEqual([0, 0, 0, 1]);
    expect(byTopic[`${prefix}_b`].headers).toEqual({
      source: Buffer.from("eddy").toString("hex"),
      n: "00000002",
    });
  });

  it("sends a tombstone (null value) when tombstoneWhen is true", async () => {
    const topic = uniqueName("tomb");
    const sink = new KafkaEmitSink(
      client(),
      emitPlan({
        topic,
        config: { key: "$id", keyFormat: "string", tombstoneWhen: { $eq: ["$op", "delete"] } },
      }),
    );
    await sink.write([
      { id: "k1", op: "insert" },
      { id: "k1", op: "delete" },
    ]);
    await sink.close();
    const received = await readAll([topic], 2);
    expect(
      received.map((r) => [r.key?.toString(), r.value === undefined ? null : JSON.parse(r.value).op]),
    ).toEqual([
      ["k1", "insert"],
      ["k1", null],
    ]);
  });

  it("writes several prepared batches together, failures by their index in the whole write", async () => {
    const topic = uniqueName("parts");
    const sink = new KafkaEmitSink(client(), emitPlan({ topic, config: { key: "$k", keyFormat: "int" } }));
    const first = [{ k: 1 }, { k: "not an int" }];
    const second = [{ k: 3 }];
    const third = [{ k: "neither" }, { k: 5 }];
    sink.prepare(first);
    sink.prepare(third);
    // The second part was never prepared: it is encoded at the write.
    const result = await sink.write([...first, ...second, ...third], {
      idFor: () => {
        throw new Error("not needed");
      },
      parts: [first, second, third],
    });
    await sink.close();
    expect(result.failures?.map((f) => f.index)).toEqual([1, 3]);
    const received = await readAll([topic], 3);
    expect(received.map((r) => JSON.parse(r.value as string).k)).toEqual([1, 3, 5]);
  });

  it("splits large batches into requests under 1 MiB and dead-letters a record too large for any", async () => {
    const topic = uniqueName("large");
    const sink = new KafkaEmitSink(client(), emitPlan({ topic }));
    const docs = Array.from({ length: 30 }, (_, i) => ({ i, blob: "x".repeat(100_000) }));
    docs.splice(7, 0, { i: -1, blob: "y".repeat(1_100_000) });
    const result = await sink.write(docs);
    await sink.close();
    expect(result.failures?.map((f) => f.index)).toEqual([7]);
    expect(result.failures?.[0].message).toMatch(
      /^the record is 1100\d{3} bytes, more than a Kafka request of 1 MiB/,
    );
    const received = await readAll([topic], 30);
    expect(received.map((r) => JSON.parse(r.value as string).i)).toEqual(
      docs.filter((d) => d.i >= 0).map((d) => d.i),
    );
  });

  it("compressed output goes through the client's send; a batch the broker refuses as too large is sent again record by record", async () => {
    const topic = uniqueName("lz4");
    const sink = new KafkaEmitSink(client(), emitPlan({ topic, config: { compression_type: "lz4" } }), {
      documentRetries: { retryDelayMs: 1 },
    });
    // Random text barely compresses: 30 × 100 kB stays far above the broker's 1 MiB batch limit.
    const docs = Array.from({ length: 30 }, (_, i) => ({ i, blob: randomBytes(75_000).toString("base64") }));
    const result = await sink.write(docs);
    await sink.close();
    expect(result.failures).toBeUndefined();
    const received = await readAll([topic], 30);
    expect(received.map((r) => JSON.parse(r.value as string).i).sort((a, b) => a - b)).toEqual(
      docs.map((d) => d.i),
    );
  });

  describe("records the broker refuses: retried alone, then dead-lettered with their attempts", () => {
    async function createTopic(configs: { name: string; value: string }[]): Promise<string> {
      const topic = uniqueName("refuse");
      const admin = new Admin(client());
      await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1, configs });
      await admin.close();
      return topic;
    }

    it("a record over the topic's max.message.bytes", async () => {
      const topic = await createTopic([{ name: "max.message.bytes", value: "300" }]);
      const sink = new KafkaEmitSink(client(), emitPlan({ topic }), {
        documentRetries: { maxRetries: 3, retryDelayMs: 1 },
      });
      const result = await sink.write([{ i: 0 }, { i: 1, blob: "x".repeat(1000) }, { i: 2 }]);
      await sink.close();
      expect(result.failures).toEqual([
        {
          index: 1,
          attempts: 3,
          message: expect.stringContaining(`Kafka $emit to '${topic}' failed: the broker refused`),
        },
      ]);
      expect((await readAll([topic], 2)).map((r) => JSON.parse(r.value as string).i)).toEqual([0, 2]);
    });

    it("a record without a key for a compacted topic (the broker's record validation)", async () => {
      const topic = await createTopic([{ name: "cleanup.policy", value: "compact" }]);
      const sink = new KafkaEmitSink(
        client(),
        emitPlan({ topic, config: { key: "$k", keyFormat: "string" } }),
        { documentRetries: { maxRetries: 2, retryDelayMs: 1 } },
      );
      const result = await sink.write([{ k: "a" }, { none: true }, { k: "b" }]);
      await sink.close();
      expect(result.failures?.map((f) => [f.index, f.attempts])).toEqual([[1, 2]]);
      expect(result.failures?.[0].message).toMatch(/failed the validation on broker/);
      expect((await readAll([topic], 2)).map((r) => r.key?.toString())).toEqual(["a", "b"]);
    });

    it("a document whose topic expression names an invalid topic; the others are written", async () => {
      const prefix = uniqueName("route");
      const sink = new KafkaEmitSink(client(), emitPlan({ topic: { $concat: [prefix, "$suffix"] } }), {
        documentRetries: { retryDelayMs: 1 },
      });
      const result = await sink.write([{ suffix: "_ok" }, { suffix: " not a topic!" }]);
      await sink.close();
      expect(result.failures?.map((f) => [f.index, f.attempts])).toEqual([[1, 3]]);
      expect(result.failures?.[0].message).toContain("INVALID_TOPIC_EXCEPTION");
      expect(await readAll([`${prefix}_ok`], 1)).toHaveLength(1);
    });

    it("an unreachable broker fails the write (retryable) instead of dead-lettering the batch", async () => {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const { port } = server.address() as AddressInfo;
      await new Promise((resolve) => server.close(resolve));
      const unreachable = {
        ...kafkaClientOptions({ bootstrapServers: `127.0.0.1:${port}` }, "eddy-test-down"),
        retries: 0,
      };
      const sink = new KafkaEmitSink(unreachable, emitPlan({ topic: "t" }), {
        retry: { attempts: 2, initialDelayMs: 1 },
        documentRetries: { retryDelayMs: 1 },
      });
      const error = await sink.write([{ i: 1 }]).catch((e: unknown) => e);
      await sink.close();
      expect(error).toBeInstanceOf(ConnectorError);
      expect((error as ConnectorError).retryable).toBe(true);
    });
  });
});

import { Consumer } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { kafkaClientOptions } from "../../../src/connectors/kafka/connection.ts";
import { KafkaEmitSink, type EmitSinkPlan } from "../../../src/connectors/kafka/emit-sink.ts";
import type { Doc } from "../../../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor } from "../../../src/pipeline/index.ts";
import { testServices, uniqueName } from "../../support/services.ts";

const catalog = new MapConnectionCatalog([{ name: "k", type: "Kafka", config: {} }]);

function emitPlan(emit: Doc): EmitSinkPlan {
  const plan = planProcessor(
    { pipeline: [{ $source: { documents: [] } }, { $emit: { connectionName: "k", ...emit } }] },
    { connections: catalog },
  );
  if (plan.sink?.kind !== "emit") throw new Error("expected an $emit sink");
  return plan.sink;
}

interface Received {
  topic: string;
  key: Buffer | undefined;
  value: string | undefined;
  headers: Record<string, string>;
}

async function readAll(topics: string[], count: number): Promise<Received[]> {
  const consumer = new Consumer({
    ...kafkaClientOptions({ bootstrapServers: testServices().kafkaBrokers.join(",") }, "eddy-test-reader"),
    groupId: uniqueName("reader"),
  });
  const stream = await consumer.consume({ topics, mode: "earliest", autocommit: false, maxWaitTime: 200 });
  const out: Received[] = [];
  try {
    for await (const message of stream) {
      const headers: Record<string, string> = {};
      for (const [k, v] of message.headers) headers[k.toString()] = v.toString("hex");
      out.push({
        topic: message.topic,
        key: message.key?.length ? message.key : undefined,
        value: message.value?.length ? message.value.toString() : undefined,
        headers,
      });
      if (out.length >= count) break;
    }
  } finally {
    await stream.close();
    await consumer.close(true);
  }
  return out;
}

describe("KafkaEmitSink", () => {
  const client = () =>
    kafkaClientOptions({ bootstrapServers: testServices().kafkaBrokers.join(",") }, "eddy-test-emit");

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
});

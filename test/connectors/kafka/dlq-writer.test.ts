import { describe, expect, it } from "vitest";
import { ConnectorClients } from "../../../src/connectors/clients.ts";
import { createDlqWriter } from "../../../src/connectors/factory.ts";
import { CONNECTORS } from "../../../src/connectors/registry.ts";
import { DocumentsSource } from "../../../src/connectors/documents/source.ts";
import { JsonLinesSink } from "../../../src/connectors/file/sink.ts";
import { formatIssue, MapConnectionCatalog, planProcessor, PlanError } from "../../../src/pipeline/index.ts";
import { ProcessorRuntime } from "../../../src/runtime/index.ts";
import { PassThrough } from "node:stream";
import { readMessages } from "../../support/kafka.ts";
import { testServices, uniqueName } from "../../support/services.ts";

describe("options.dlq on a Kafka connection", () => {
  const catalog = () =>
    new MapConnectionCatalog([
      { name: "kafka", type: "Kafka", config: { bootstrapServers: testServices().kafkaBrokers.join(",") } },
      { name: "atlas", type: "Cluster", config: { uri: "mongodb://x" } },
    ]);

  it("is planned with a topic, and refuses db/coll with it or a topic on a Cluster connection", () => {
    const issues = (dlq: object) => {
      try {
        planProcessor(
          { name: "p", pipeline: [{ $source: { documents: [] } }], options: { dlq } },
          { connections: catalog(), connectors: CONNECTORS, ephemeral: true },
        );
        return [];
      } catch (error) {
        return (error as PlanError).errors.map(formatIssue);
      }
    };
    expect(issues({ connectionName: "kafka", topic: "dead" })).toEqual([]);
    expect(issues({ connectionName: "kafka", topic: "dead", db: "d" })).toEqual([
      expect.stringContaining("takes a topic, not db"),
    ]);
    expect(issues({ connectionName: "atlas", db: "d", coll: "c", topic: "t" })).toEqual([
      expect.stringContaining("a topic needs a Kafka connection"),
    ]);
  });

  it("writes each dead letter as JSON with error-message, original-topic and failed-at headers", async () => {
    const topic = uniqueName("dlq");
    const plan = planProcessor(
      {
        name: "dlq_kafka",
        pipeline: [
          { $source: { documents: [{ d: "1" }, { d: "not a number" }] } },
          { $addFields: { x: { $toInt: "$d" } } },
        ],
        options: { dlq: { connectionName: "kafka", topic } },
      },
      { connections: catalog(), connectors: CONNECTORS, ephemeral: true },
    );
    const clients = new ConnectorClients(catalog());
    const dlq = await createDlqWriter(plan, catalog(), clients);
    const runtime = new ProcessorRuntime(plan, {
      source: new DocumentsSource([{ d: "1" }, { d: "not a number" }]),
      sink: new JsonLinesSink(new PassThrough(), { operatorName: "StdoutSinkOperator" }),
      dlq,
    });
    const stats = await runtime.run();
    await dlq?.close();
    await clients.close();
    expect(stats.dlqMessageCount).toBe(1);
    const [message] = await readMessages([topic], 1);
    const headers = Object.fromEntries(
      [...(message.headers ?? new Map())].map(([k, v]) => [String(k), String(v)]),
    );
    const record = JSON.parse(String(message.value));
    expect(record.doc.d).toBe("not a number");
    expect(headers["error-message"]).toBe(record.errInfo.reason);
    expect(headers["error-message"]).toMatch(/toInt|convert/i);
    expect(headers["original-topic"]).toBe("");
    expect(new Date(headers["failed-at"]).toISOString()).toBe(headers["failed-at"]);
  });
});

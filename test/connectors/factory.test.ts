import { describe, expect, it } from "vitest";
import { createSink, createSource, UnavailableConnectorError } from "../../src/connectors/factory.ts";
import { ConnectorClients } from "../../src/connectors/clients.ts";
import { KafkaSource } from "../../src/connectors/kafka/source.ts";
import { SampleSource } from "../../src/connectors/sample/source.ts";
import { catalogOf, planProcessor } from "../../src/pipeline/index.ts";
import type { Doc } from "../../src/mql/index.ts";
import { CONNECTORS } from "../../src/connectors/registry.ts";

function plan(pipeline: unknown[], connections = catalogOf()) {
  return {
    plan: planProcessor({ name: "a", pipeline }, { connectors: CONNECTORS, connections, ephemeral: true }),
    connections,
  };
}

describe("assembling connectors for a plan", () => {
  it("builds a finite, seeded sample source from the Sample connection's config", async () => {
    const connections = catalogOf([
      { name: "sample_stream_solar", type: "Sample", config: { rate: "unlimited", count: 3, seed: 5 } },
    ]);
    const { plan: p } = plan([{ $source: { connectionName: "sample_stream_solar" } }], connections);
    const source = await createSource(p, connections, process.stdin);
    expect(source).toBeInstanceOf(SampleSource);
    await source.start();
    const docs: Doc[] = [];
    for (let b = await source.next(); b; b = await source.next()) docs.push(...b.records.map((r) => r.doc!));
    expect(docs).toHaveLength(3);
  });

  it("explains a File connection without a path, and external connectors without clients", async () => {
    const noPath = catalogOf([{ name: "in", type: "File", config: {} }]);
    const { plan: p } = plan([{ $source: { connectionName: "in" } }], noPath);
    await expect(createSource(p, noPath, process.stdin)).rejects.toThrow(/connection 'in' needs config.path/);
    const kafka = catalogOf([{ name: "k", type: "Kafka", config: { bootstrapServers: "localhost:9092" } }]);
    const { plan: kp } = plan([{ $source: { connectionName: "k", topic: "t" } }], kafka);
    await expect(createSource(kp, kafka, process.stdin)).rejects.toThrow(UnavailableConnectorError);
    expect(await createSource(kp, kafka, process.stdin, new ConnectorClients(kafka))).toBeInstanceOf(
      KafkaSource,
    );
  });

  it("names what a Cluster connection without a uri needs", async () => {
    const cluster = catalogOf([{ name: "c", type: "Cluster", config: { clusterName: "Cluster0" } }]);
    const { plan: p } = plan([{ $source: { connectionName: "c", db: "d", coll: "x" } }], cluster);
    await expect(createSource(p, cluster, process.stdin, new ConnectorClients(cluster))).rejects.toThrow(
      "connection 'c' needs config.uri, a MongoDB connection string",
    );
  });

  it("prints to stdout without a sink", async () => {
    const { plan: p, connections } = plan([{ $source: { documents: [] } }]);
    expect((await createSink(p, connections, process.stdout)).operatorName).toBe("StdoutSinkOperator");
  });
});

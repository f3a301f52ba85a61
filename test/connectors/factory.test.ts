import { describe, expect, it } from "vitest";
import { createSink, createSource, UnavailableConnectorError } from "../../src/connectors/factory.ts";
import { SampleSource } from "../../src/connectors/sample/source.ts";
import { catalogOf, planProcessor } from "../../src/pipeline/index.ts";
import type { Doc } from "../../src/mql/index.ts";

function plan(pipeline: unknown[], connections = catalogOf()) {
  return { plan: planProcessor({ name: "a", pipeline }, { connections, ephemeral: true }), connections };
}

describe("assembling connectors for a plan", () => {
  it("builds a finite, seeded sample source from the Sample connection's config", async () => {
    const connections = catalogOf([
      { name: "sample_stream_solar", type: "Sample", config: { rate: "unlimited", count: 3, seed: 5 } },
    ]);
    const { plan: p } = plan([{ $source: { connectionName: "sample_stream_solar" } }], connections);
    const source = createSource(p, connections, process.stdin);
    expect(source).toBeInstanceOf(SampleSource);
    await source.start();
    const docs: Doc[] = [];
    for (let b = await source.next(); b; b = await source.next()) docs.push(...b.records.map((r) => r.doc!));
    expect(docs).toHaveLength(3);
  });

  it("explains a File connection without a path and a source kind this build cannot run", () => {
    const noPath = catalogOf([{ name: "in", type: "File", config: {} }]);
    const { plan: p } = plan([{ $source: { connectionName: "in" } }], noPath);
    expect(() => createSource(p, noPath, process.stdin)).toThrow(/connection 'in' needs config.path/);
    const kafka = catalogOf([{ name: "k", type: "Kafka", config: { bootstrapServers: "localhost:9092" } }]);
    const { plan: kp } = plan([{ $source: { connectionName: "k", topic: "t" } }], kafka);
    expect(() => createSource(kp, kafka, process.stdin)).toThrow(UnavailableConnectorError);
  });

  it("prints to stdout without a sink", () => {
    const { plan: p, connections } = plan([{ $source: { documents: [] } }]);
    expect(createSink(p, connections, process.stdout).operatorName).toBe("StdoutSinkOperator");
  });
});

import { describe, expect, it } from "vitest";
import { catalogOf, MapConnectionCatalog } from "../../src/pipeline/connections.ts";
import { parseConnections } from "../../src/connectors/connections.ts";
import { PlanError } from "../../src/pipeline/errors.ts";

function errorsOf(value: unknown) {
  try {
    parseConnections(value);
    return [];
  } catch (error) {
    return (error as PlanError).errors;
  }
}

describe("connection registry files", () => {
  it("reads the workspace shape {connections: [{name, type, config}]}", () => {
    expect(
      parseConnections({ connections: [{ name: "atlas", type: "Cluster", config: { uri: "mongodb://x" } }] }),
    ).toEqual([{ name: "atlas", type: "Cluster", config: { uri: "mongodb://x" } }]);
  });

  it("reads Atlas API bodies with top-level settings", () => {
    const [kafka] = parseConnections([
      {
        name: "k",
        type: "Kafka",
        bootstrapServers: "h:9092",
        config: { "group.id": "g" },
        security: { protocol: "SSL" },
      },
    ]);
    expect(kafka).toEqual({
      name: "k",
      type: "Kafka",
      config: { bootstrapServers: "h:9092", config: { "group.id": "g" }, security: { protocol: "SSL" } },
    });
  });

  it.each([
    ["atlas", "Cluster"],
    ["cluster", "Cluster"],
    ["kafka", "Kafka"],
    ["sample_solar", "Sample"],
    ["Sample", "Sample"],
    ["https", "Https"],
    ["HTTP", "Https"],
    ["file", "File"],
    ["S3", "S3"],
  ])("maps type %s to %s", (raw, type) => {
    expect(parseConnections([{ name: "c", type: raw }])[0].type).toBe(type);
  });

  it("reads the engine registry (options) and Terraform (connection_name) spellings", () => {
    expect(
      parseConnections([{ name: "db1", type: "atlas", options: { uri: "mongodb://l" } }])[0].config,
    ).toEqual({ uri: "mongodb://l" });
    expect(parseConnections([{ connection_name: "c0", type: "Cluster", cluster_name: "c" }])[0]).toEqual({
      name: "c0",
      type: "Cluster",
      config: { cluster_name: "c" },
    });
  });

  it("reports every bad entry with its path", () => {
    expect(
      errorsOf({
        connections: [
          { type: "Kafka" },
          { name: "x", type: "EventBridge" },
          { name: "a b", type: "Cluster" },
          { name: "y" },
        ],
      }),
    ).toEqual([
      { path: "connections[0].name", message: "a connection needs a non-empty string 'name'" },
      {
        path: "connections[1].type",
        message:
          "Unsupported connection type 'EventBridge'; expected one of Cluster, Kafka, Sample, Https, File, S3, AWSLambda, TestLog, PostgreSQL, OTLP, Scheduled",
      },
      {
        path: "connections[2].name",
        message: "invalid connection name 'a b': use letters, digits and . - * _",
      },
      {
        path: "connections[3].type",
        message: "a connection needs a string 'type' (Cluster, Kafka, Sample, Https, File…)",
      },
    ]);
    expect(
      errorsOf([
        { name: "a", type: "Cluster" },
        { name: "a", type: "Kafka" },
      ]),
    ).toEqual([{ path: "[1].name", message: "duplicate connection name 'a'" }]);
    expect(errorsOf({ conns: [] })).toEqual([
      {
        path: "connections",
        message: 'expected {"connections": [{name, type, config}]} or an array of connections',
      },
    ]);
  });

  it("always has sample_stream_solar and __testLog, which files may override", () => {
    const catalog = new MapConnectionCatalog();
    expect(catalog.get("sample_stream_solar")).toMatchObject({ type: "Sample" });
    expect(catalog.get("__testLog")).toMatchObject({ type: "TestLog" });
    expect(catalog.names()).toEqual(["__testLog", "sample_stream_solar"]);
    const overridden = catalogOf([{ name: "sample_stream_solar", type: "Sample", config: { rate: 5 } }]);
    expect(overridden.get("sample_stream_solar")?.config).toEqual({ rate: 5 });
  });
});

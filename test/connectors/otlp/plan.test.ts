// `$source {connectionName, signal}` on an OTLP connection and the connection's settings, as the planner
// and the control plane's connection check see them.
import { describe, expect, it } from "vitest";
import { rawIngestTarget } from "../../../src/connectors/otlp/indexes.ts";
import { CONNECTORS } from "../../../src/connectors/registry.ts";
import { checkConnection } from "../../../src/control/connection-validation.ts";
import { MapConnectionCatalog, PlanError, planProcessor } from "../../../src/pipeline/index.ts";

const catalog = new MapConnectionCatalog([{ name: "otel", type: "OTLP", config: {} }]);

function problems(source: Record<string, unknown>): string[] {
  try {
    planProcessor(
      { name: "p", pipeline: [{ $source: source }] },
      { connections: catalog, connectors: CONNECTORS, ephemeral: true },
    );
    return [];
  } catch (error) {
    return (error as PlanError).errors.map((e) => `${e.path}: ${e.message}`);
  }
}

describe("$source on an OTLP connection", () => {
  it("plans {connectionName, signal} with the common source fields", () => {
    const plan = planProcessor(
      { name: "p", pipeline: [{ $source: { connectionName: "otel", signal: "logs", tsFieldName: "at" } }] },
      { connections: catalog, connectors: CONNECTORS, ephemeral: true },
    );
    expect(plan.source).toMatchObject({
      type: "OTLP",
      connectionName: "otel",
      options: { signal: "logs" },
      tsFieldName: "at",
    });
  });

  it("requires a known signal and refuses other fields, naming the path", () => {
    expect(problems({ connectionName: "otel" })).toEqual([
      expect.stringMatching(/^pipeline\[0\]\.\$source\.signal: .*missing but a required field/),
    ]);
    expect(problems({ connectionName: "otel", signal: "spans" })).toEqual([
      expect.stringMatching(/signal.*'spans'.*not a valid value/),
    ]);
    expect(problems({ connectionName: "otel", signal: "traces", topic: "x" })).toEqual([
      expect.stringMatching(/topic.*unknown field/),
    ]);
  });
});

describe("indexes of a raw-ingest processor", () => {
  const connections = new MapConnectionCatalog([
    { name: "otel", type: "OTLP", config: {} },
    { name: "local", type: "Cluster", config: { uri: "mongodb://127.0.0.1:1" } },
  ]);
  const plan = (stages: object[], into: object, source: object = {}) =>
    planProcessor(
      {
        name: "p",
        pipeline: [
          { $source: { connectionName: "otel", signal: "traces", ...source } },
          ...stages,
          { $merge: { into: { connectionName: "local", ...into } } },
        ],
      },
      { connections, connectors: CONNECTORS },
    );

  it("are created by default, and not with createIndexes: false", () => {
    expect(plan([], { db: "t", coll: "traces" }).source.options).toEqual({
      signal: "traces",
      createIndexes: true,
    });
    expect(plan([], { db: "t", coll: "traces" }, { createIndexes: false }).source.options).toEqual({
      signal: "traces",
      createIndexes: false,
    });
  });

  it("go on the literal $merge target when the documents keep their shape", () => {
    expect(rawIngestTarget(plan([], { db: "t", coll: "traces" }))).toEqual({
      connectionName: "local",
      db: "t",
      coll: "traces",
    });
    expect(rawIngestTarget(plan([{ $match: { kind: "server" } }], { db: "t", coll: "x" }))?.coll).toBe("x");
    // Reshaped documents, or a target known only per document: nothing to index.
    expect(rawIngestTarget(plan([{ $project: { name: 1 } }], { db: "t", coll: "x" }))).toBeUndefined();
    expect(rawIngestTarget(plan([], { db: "t", coll: "$serviceName" }))).toBeUndefined();
  });
});

describe("OTLP connection settings", () => {
  it("accepts the defaults and a full configuration", () => {
    expect(checkConnection({ name: "o", type: "OTLP" }).problems).toBeUndefined();
    expect(
      checkConnection({
        name: "o",
        type: "otlp",
        config: { port: 4318, bearerTokens: ["{{T}}"], rateLimit: { requestsPerSecond: 5 }, host: "0.0.0.0" },
      }).problems,
    ).toBeUndefined();
  });

  it("refuses listening beyond loopback without authentication, and bad numbers, with their paths", () => {
    const check = checkConnection({
      name: "o",
      type: "OTLP",
      config: { host: "0.0.0.0", port: 70000, spool: { maxBytes: 1 }, rateLimit: { burst: 0 } },
    });
    expect(check.problems?.map((p) => p.path).sort()).toEqual([
      "config.host",
      "config.port",
      "config.rateLimit.burst",
      "config.spool.maxBytes",
    ]);
    expect(check.problems?.find((p) => p.path === "config.host")?.message).toMatch(/needs authentication/);
  });
});

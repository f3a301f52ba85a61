import { describe, expect, it } from "vitest";
import type { SinkPlan } from "../../src/pipeline/plan.ts";
import { issues, plan, SOURCE } from "./helpers.ts";

const sinkOf = (stage: unknown, ephemeral = false): SinkPlan | undefined =>
  plan([SOURCE, stage], { ephemeral }).sink;
const sinkIssues = (stage: unknown) => issues([SOURCE, stage]);
const into = { connectionName: "atlas", db: "d", coll: "c" };

describe("$merge", () => {
  it("plans ASP's defaults", () => {
    const sink = sinkOf({ $merge: { into } });
    expect(sink).toMatchObject({
      kind: "merge",
      operatorName: "MergeOperator",
      path: "pipeline[1].$merge",
      connectionName: "atlas",
      on: ["_id"],
      whenMatched: { kind: "mode", mode: "merge" },
      whenNotMatched: { kind: "mode", mode: "insert" },
      parallelism: 1,
    });
    if (sink?.kind !== "merge") throw new Error("expected merge");
    expect(sink.db({}, {})).toBe("d");
    expect(sink.let?.map(([name]) => name)).toEqual(["new"]);
  });

  it("evaluates dynamic db and coll per document", () => {
    const sink = sinkOf({
      $merge: { into: { connectionName: "atlas", db: "$tenant", coll: { $concat: ["ev_", "$type"] } } },
    });
    if (sink?.kind !== "merge") throw new Error("expected merge");
    expect(sink.db({ tenant: "t1" }, {})).toBe("t1");
    expect(sink.coll({ type: "click" }, {})).toBe("ev_click");
  });

  it("plans modes, expressions and on lists", () => {
    const sink = sinkOf({
      $merge: {
        into,
        on: ["a", "b"],
        whenMatched: { $cond: { if: "$del", then: "delete", else: "replace" } },
        whenNotMatched: "discard",
        parallelism: 4,
      },
    });
    expect(sink).toMatchObject({
      on: ["a", "b"],
      whenMatched: { kind: "expression" },
      whenNotMatched: { kind: "mode", mode: "discard" },
      parallelism: 4,
    });
    expect(sinkOf({ $merge: { into, whenMatched: "keepExisting" } })).toMatchObject({
      whenMatched: { kind: "mode", mode: "keepExisting" },
    });
  });

  it("plans a whenMatched update pipeline", () => {
    const sink = sinkOf({
      $merge: { into, whenMatched: [{ $addFields: { seen: true } }, { $unset: "tmp" }] },
    });
    if (sink?.kind !== "merge" || sink.whenMatched?.kind !== "pipeline")
      throw new Error("expected a pipeline");
    expect(sink.whenMatched.apply({ _id: 1, tmp: 1 }, {})).toEqual({ _id: 1, seen: true });
  });

  it("reports ASP's $merge errors", () => {
    expect(sinkIssues({ $merge: { into: { connectionName: "kafka", db: "d", coll: "c" } } })).toEqual([
      {
        path: "pipeline[1].$merge.into.connectionName",
        message:
          "Only atlas merge connection type is currently supported (connection 'kafka' is of type Kafka)",
      },
    ]);
    expect(
      sinkIssues({ $merge: { into, whenMatched: "fail", whenNotMatched: "fail", on: ["a", "a"] } }),
    ).toEqual([
      { path: "pipeline[1].$merge.on", message: "Found a duplicate field in the $merge.on list: 'a'" },
      { path: "pipeline[1].$merge.whenMatched", message: "Unsupported whenMatched mode: fail" },
      { path: "pipeline[1].$merge.whenNotMatched", message: "Unsupported whenNotMatched mode: fail" },
    ]);
    expect(
      sinkIssues({ $merge: { into: { connectionName: "atlas" }, whenMatched: [{ $match: {} }] } }),
    ).toEqual([
      {
        path: "pipeline[1].$merge.into.db",
        message: "BSON field '$merge.into.db' is missing but a required field",
      },
      {
        path: "pipeline[1].$merge.into.coll",
        message: "BSON field '$merge.into.coll' is missing but a required field",
      },
      {
        path: "pipeline[1].$merge.whenMatched[0].$match",
        message: "$match is not allowed to be used within an update",
      },
    ]);
    expect(sinkIssues({ $merge: { target: into } })).toEqual([
      { path: "pipeline[1].$merge.target", message: "BSON field '$merge.target' is an unknown field." },
      {
        path: "pipeline[1].$merge.into",
        message: "BSON field '$merge.into' is missing but a required field",
      },
    ]);
  });
});

describe("$emit", () => {
  it("plans a Kafka emit with compiled topic, key and headers", () => {
    const sink = sinkOf({
      $emit: {
        connectionName: "kafka",
        topic: { $concat: ["alerts-", "$sev"] },
        config: {
          key: "$id",
          keyFormat: "string",
          headers: { src: "eddy" },
          outputFormat: "canonicalJson",
          acks: -1,
          compression_type: "zstd",
        },
      },
    });
    if (sink?.kind !== "emit") throw new Error("expected emit");
    expect(sink.operatorName).toBe("KafkaEmitOperator");
    expect(sink.evaluators?.topic({ sev: "high" }, {})).toBe("alerts-high");
    expect(sink.evaluators?.["config.key"]({ id: "k1" }, {})).toBe("k1");
    expect(sink.evaluators?.["config.headers"]({}, {})).toEqual({ src: "eddy" });
  });

  it("reports Kafka emit errors", () => {
    expect(
      sinkIssues({
        $emit: { connectionName: "kafka", config: { key: "$id", acks: 2, compression_type: "brotli" } },
      }),
    ).toEqual([
      {
        path: "pipeline[1].$emit.topic",
        message: "BSON field '$emit.topic' is missing but a required field",
      },
      {
        path: "pipeline[1].$emit.config.key",
        message: "Expected config.keyFormat to be specified when config.key is specified",
      },
      {
        path: "pipeline[1].$emit.config.acks",
        message: "Enumeration value '2' for field '$emit.config.acks' is not a valid value.",
      },
      {
        path: "pipeline[1].$emit.config.compression_type",
        message: "Enumeration value 'brotli' for field '$emit.config.compression_type' is not a valid value.",
      },
    ]);
  });

  it("plans a time-series emit on a Cluster connection", () => {
    const sink = sinkOf({
      $emit: {
        connectionName: "atlas",
        db: "m",
        coll: "s",
        timeseries: { timeField: "ts", granularity: "seconds" },
      },
    });
    expect(sink).toMatchObject({
      kind: "emit",
      operatorName: "TimeseriesEmitOperator",
      connectionName: "atlas",
    });
    expect(sinkIssues({ $emit: { connectionName: "atlas", db: "m", coll: "s", timeseries: {} } })).toEqual([
      {
        path: "pipeline[1].$emit.timeseries.timeField",
        message: "BSON field '$emit.timeseries.timeField' is missing but a required field",
      },
    ]);
  });

  it("plans S3 and the built-in __testLog", () => {
    expect(sinkOf({ $emit: { connectionName: "bucket", bucket: "b", path: "p/" } })).toMatchObject({
      operatorName: "S3EmitOperator",
    });
    expect(sinkOf({ $emit: { connectionName: "__testLog" } })).toMatchObject({
      operatorName: "TestLogEmitOperator",
    });
  });

  it("refuses an Https connection and reports the fields too", () => {
    expect(sinkIssues({ $emit: { connectionName: "api", to: "x" } })).toEqual([
      {
        path: "pipeline[1].$emit.connectionName",
        message:
          "$emit needs a Kafka, Cluster (time series), S3 or PostgreSQL connection (connection 'api' is of type Https)",
      },
      { path: "pipeline[1].$emit.to", message: "BSON field '$emit.to' is an unknown field." },
    ]);
  });
});

describe("terminal connector stages", () => {
  it("treats $https without `as` as the sink when last", () => {
    expect(sinkOf({ $https: { connectionName: "api", method: "POST" } })).toMatchObject({
      kind: "connector",
      stage: "$https",
    });
  });

  it("treats async $externalFunction as the sink when last", () => {
    expect(
      sinkOf({ $externalFunction: { connectionName: "lambda", functionName: "f", execution: "async" } }),
    ).toMatchObject({
      kind: "connector",
      stage: "$externalFunction",
    });
  });

  it("plans $iceberg as a connector sink", () => {
    expect(
      sinkOf({ $iceberg: { connectionName: "bucket", bucket: "b", databaseName: "db", tableName: "t" } }),
    ).toMatchObject({
      kind: "connector",
      stage: "$iceberg",
      operatorName: "IcebergOperator",
    });
  });

  it("still needs a sink when the last $https stores its response", () => {
    expect(sinkIssues({ $https: { connectionName: "api", as: "r" } })).toEqual([
      {
        path: "pipeline",
        message: expect.stringContaining("The last stage in the pipeline must be $merge or $emit."),
      },
    ]);
  });
});

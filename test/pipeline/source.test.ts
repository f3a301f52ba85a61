import { describe, expect, it } from "vitest";
import type { ClusterSourceOptions } from "../../src/connectors/mongodb/change-stream-options.ts";
import type { DocumentsSourceOptions, SourcePlan } from "../../src/pipeline/plan.ts";
import { issues, MERGE, plan } from "./helpers.ts";

const withSource = (source: unknown) => [{ $source: source }, MERGE];
const documentsOf = (source: SourcePlan) => (source as SourcePlan<DocumentsSourceOptions>).options.documents;

describe("$source", () => {
  it("requires connectionName unless documents are given", () => {
    expect(issues(withSource({ db: "d" }))).toEqual([
      { path: "pipeline[0].$source", message: "$source must contain 'connectionName' field in it" },
    ]);
  });

  it("reports an unknown connection with the known names as a hint", () => {
    const [issue] = issues(withSource({ connectionName: "nope" }));
    expect(issue.path).toBe("pipeline[0].$source.connectionName");
    expect(issue.message).toMatch(
      /^Unknown connection name nope; known connections: __testLog, api, atlas, bucket, kafka, lambda, lines, sample_stream_solar\./,
    );
  });

  it("refuses a connection type that cannot be a source", () => {
    expect(issues(withSource({ connectionName: "api" }))).toEqual([
      {
        path: "pipeline[0].$source.connectionName",
        message:
          "$source needs a Cluster (change stream), Kafka, Sample, File, OTLP or Scheduled (cron query) connection (connection 'api' is of type Https)",
      },
    ]);
  });

  describe("documents", () => {
    it("plans an inline array with timeField and tsFieldName", () => {
      const p = plan(
        withSource({ documents: [{ a: 1 }], timeField: { $toDate: "$t" }, tsFieldName: "ingest" }),
      );
      expect(p.source.type).toBe("documents");
      expect(p.source.tsFieldName).toBe("ingest");
      expect(typeof p.source.timeField).toBe("function");
      expect(documentsOf(p.source)).toEqual([{ a: 1 }]);
    });

    it("compiles an expression that produces the documents", () => {
      const p = plan(withSource({ documents: { $map: { input: { $range: [0, 3] }, in: { i: "$$this" } } } }));
      const documents = documentsOf(p.source);
      if (typeof documents !== "function") throw new Error("expected an expression");
      expect(documents({}, {})).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    });

    it("rejects non-object documents and other value types", () => {
      expect(issues(withSource({ documents: [{ a: 1 }, 5] }))).toEqual([
        {
          path: "pipeline[0].$source.documents[1]",
          message: "The documents list expression does not evaluate to an array of objects.",
        },
      ]);
      expect(issues(withSource({ documents: 5 }))).toEqual([
        {
          path: "pipeline[0].$source.documents",
          message: "The documents list expression does not evaluate to an array.",
        },
      ]);
    });

    it("rejects a dotted or empty tsFieldName", () => {
      expect(issues(withSource({ documents: [], tsFieldName: "a.b" }))).toEqual([
        { path: "pipeline[0].$source.tsFieldName", message: "'tsFieldName' cannot be a dotted path" },
      ]);
      expect(issues(withSource({ documents: [], tsFieldOverride: "" }))).toEqual([
        { path: "pipeline[0].$source.tsFieldOverride", message: "'tsFieldOverride' cannot be empty" },
      ]);
    });
  });

  describe("sample and file connections", () => {
    it("plans the built-in solar sample", () => {
      const p = plan(
        withSource({
          connectionName: "sample_stream_solar",
          timeField: { $dateFromString: { dateString: "$timestamp" } },
        }),
      );
      expect(p.source).toMatchObject({
        type: "Sample",
        connectionName: "sample_stream_solar",
        options: { dataset: "sample_stream_solar" },
        tsFieldName: "_ts",
      });
    });

    it("rejects change-stream fields on a sample connection", () => {
      expect(issues(withSource({ connectionName: "sample_stream_solar", db: "x" }))).toEqual([
        { path: "pipeline[0].$source.db", message: "BSON field '$source.db' is an unknown field." },
      ]);
    });

    it("plans a File connection (Eddy extension)", () => {
      expect(plan(withSource({ connectionName: "lines" })).source).toMatchObject({
        type: "File",
        connectionName: "lines",
      });
    });
  });

  describe("change streams", () => {
    it("plans collection, database and cluster scopes with defaults", () => {
      const coll = plan(withSource({ connectionName: "atlas", db: "shop", coll: ["a", "b"] })).source;
      expect(coll).toMatchObject({
        type: "Cluster",
        options: {
          db: "shop",
          coll: ["a", "b"],
          config: { maxAwaitTimeMS: 1000, fullDocumentBeforeChange: "off", fullDocumentOnly: false },
        },
      });
      expect(plan(withSource({ connectionName: "atlas" })).source).toMatchObject({
        type: "Cluster",
        options: { db: undefined, coll: undefined },
      });
    });

    it("reports coll without db and an empty db", () => {
      expect(issues(withSource({ connectionName: "atlas", coll: "c" }))).toEqual([
        { path: "pipeline[0].$source.coll", message: "If coll is specified, db must be specified." },
      ]);
      expect(issues(withSource({ connectionName: "atlas", db: "" }))).toEqual([
        {
          path: "pipeline[0].$source.db",
          message: "Cannot specify an empty database name to $source when configuring a change stream",
        },
      ]);
    });

    it("checks config with ASP's messages", () => {
      const config = (c: unknown) => issues(withSource({ connectionName: "atlas", db: "d", config: c }));
      expect(config({ startAfter: { _data: "x" }, startAtOperationTime: new Date(0) })).toEqual([
        {
          path: "pipeline[0].$source.config.startAtOperationTime",
          message: "startAfter and startAtOperationTime cannot both be set",
        },
      ]);
      expect(config({ fullDocumentOnly: true })).toEqual([
        {
          path: "pipeline[0].$source.config.fullDocumentOnly",
          message:
            "fullDocumentOnly is set to true, fullDocument mode can either be updateLookup or required",
        },
      ]);
      expect(
        config({ fullDocument: "required", fullDocumentOnly: true, fullDocumentBeforeChange: "required" }),
      ).toEqual([
        {
          path: "pipeline[0].$source.config.fullDocumentOnly",
          message: "fullDocumentBeforeChange is set, so fullDocumentOnly should not be set.",
        },
      ]);
      expect(config({ fullDocument: "always" })).toEqual([
        {
          path: "pipeline[0].$source.config.fullDocument",
          message: "Enumeration value 'always' for field '$source.config.fullDocument' is not a valid value.",
        },
      ]);
      expect(config({ resumeAfter: {} })).toEqual([
        {
          path: "pipeline[0].$source.config.resumeAfter",
          message: "BSON field '$source.config.resumeAfter' is an unknown field.",
        },
      ]);
    });

    it("keeps fullDocument at the server default when omitted", () => {
      const source = plan(
        withSource({
          connectionName: "atlas",
          config: { fullDocument: "updateLookup", pipeline: [{ $match: {} }] },
        }),
      ).source;
      expect(source).toMatchObject({
        options: { config: { fullDocument: "updateLookup", pipeline: [{ $match: {} }] } },
      });
      const bare = plan(withSource({ connectionName: "atlas" })).source;
      expect((bare.options as ClusterSourceOptions).config.fullDocument).toBeUndefined();
    });

    it("refuses initialSync together with a window", () => {
      const window = {
        $tumblingWindow: { interval: { size: 1, unit: "second" }, pipeline: [{ $group: { _id: null } }] },
      };
      expect(
        issues([{ $source: { connectionName: "atlas", initialSync: { enable: true } } }, window, MERGE]),
      ).toEqual([
        {
          path: "pipeline[0].$source.initialSync.enable",
          message: "initialSync cannot be used in a pipeline with a window stage",
        },
      ]);
    });
  });

  describe("kafka", () => {
    it("fills ASP's defaults for a persistent processor", () => {
      expect(plan(withSource({ connectionName: "kafka", topic: "t" })).source).toMatchObject({
        type: "Kafka",
        partitionIdleTimeoutMs: undefined,
        options: {
          topics: ["t"],
          config: {
            auto_offset_reset: "latest",
            group_id: "asp-p-consumer",
            enable_auto_commit: true,
            keyFormat: "binData",
            keyFormatError: "dlq",
          },
        },
      });
    });

    it("has no consumer group and no auto commit for sp process", () => {
      const source = plan([{ $source: { connectionName: "kafka", topic: ["a", "b"] } }], {
        ephemeral: true,
      }).source;
      expect(source).toMatchObject({
        options: { topics: ["a", "b"], config: { group_id: undefined, enable_auto_commit: false } },
      });
    });

    it("reads partitionIdleTimeout and config", () => {
      const source = plan(
        withSource({
          connectionName: "kafka",
          topic: "t",
          partitionIdleTimeout: { size: 30, unit: "second" },
          config: { auto_offset_reset: "earliest", group_id: "g", keyFormat: "string" },
        }),
      ).source;
      expect(source).toMatchObject({
        partitionIdleTimeoutMs: 30_000,
        options: { config: { auto_offset_reset: "earliest", group_id: "g", keyFormat: "string" } },
      });
    });

    it("requires a topic and rejects unknown config", () => {
      expect(
        issues(withSource({ connectionName: "kafka", config: { auto_offset_reset: "oldest", foo: 1 } })),
      ).toEqual([
        {
          path: "pipeline[0].$source.topic",
          message: "BSON field '$source.topic' is missing but a required field",
        },
        {
          path: "pipeline[0].$source.config.foo",
          message: "BSON field '$source.config.foo' is an unknown field.",
        },
        {
          path: "pipeline[0].$source.config.auto_offset_reset",
          message:
            "Enumeration value 'oldest' for field '$source.config.auto_offset_reset' is not a valid value.",
        },
      ]);
    });
  });
});

describe("$source with an unknown connection", () => {
  it("still reports fields no variant knows", () => {
    const found = issues(withSource({ connectionName: "nope", db: "d", collection: "c" }));
    expect(found.map((i) => i.path)).toEqual([
      "pipeline[0].$source.connectionName",
      "pipeline[0].$source.collection",
    ]);
    expect(found[1].message).toBe("BSON field '$source.collection' is an unknown field.");
  });
});

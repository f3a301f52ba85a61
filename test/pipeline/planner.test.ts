import { describe, expect, it } from "vitest";
import { planProcessor, PlanError, NEEDS_SINK_MESSAGE } from "../../src/pipeline/index.ts";
import { CONNECTIONS, GROUP, issues, MERGE, plan, SOURCE, stageIssues, TUMBLING } from "./helpers.ts";
import { CONNECTORS } from "../../src/connectors/registry.ts";

describe("processor definition shape", () => {
  it("accepts {name, pipeline, options} and a bare pipeline array", () => {
    const full = planProcessor(
      { name: "orders", pipeline: [SOURCE, MERGE], options: {} },
      { connectors: CONNECTORS, connections: CONNECTIONS },
    );
    expect(full.name).toBe("orders");
    expect(full.definition.pipeline).toHaveLength(2);
    const bare = planProcessor([SOURCE, MERGE], {
      connectors: CONNECTORS,
      connections: CONNECTIONS,
      defaultName: "file1",
    });
    expect(bare.name).toBe("file1");
    expect(bare.sink?.kind).toBe("merge");
  });

  it("rejects unknown top-level fields and a non-array pipeline", () => {
    expect(() =>
      planProcessor(
        { name: "x", pipeline: {}, extra: 1 },
        { connectors: CONNECTORS, connections: CONNECTIONS },
      ),
    ).toThrow(PlanError);
    try {
      planProcessor(
        { name: "x", pipeline: {}, extra: 1 },
        { connectors: CONNECTORS, connections: CONNECTIONS },
      );
    } catch (error) {
      expect((error as PlanError).errors).toEqual([
        { path: "extra", message: "BSON field 'extra' is an unknown field." },
        {
          path: "pipeline",
          message: "BSON field 'pipeline' is the wrong type 'object', expected type 'array'",
        },
      ]);
    }
  });

  it("reports an empty pipeline", () => {
    expect(issues([])).toEqual([{ path: "pipeline", message: "Pipeline must have at least one stage" }]);
  });

  it("requires $source first", () => {
    expect(issues([{ $match: {} }, MERGE])).toEqual([
      { path: "pipeline[0]", message: "First stage must be $source, found: $match" },
    ]);
  });

  it("allows exactly one $source", () => {
    expect(issues([SOURCE, SOURCE, MERGE])).toEqual([
      { path: "pipeline[1]", message: "Only one $source stage is allowed, and it must be the first stage." },
    ]);
  });

  it("requires one key per stage object", () => {
    expect(issues([SOURCE, { $match: {}, $project: { a: 1 } }, {}, MERGE])).toEqual([
      {
        path: "pipeline[1]",
        message: "A pipeline stage specification object must contain exactly one field.",
      },
      {
        path: "pipeline[2]",
        message: "A pipeline stage specification object must contain exactly one field.",
      },
    ]);
  });

  it("requires a sink for a persistent processor and says to use sp process", () => {
    expect(issues([SOURCE, { $match: {} }])).toEqual([{ path: "pipeline", message: NEEDS_SINK_MESSAGE }]);
    expect(NEEDS_SINK_MESSAGE).toContain("The last stage in the pipeline must be $merge or $emit.");
    expect(NEEDS_SINK_MESSAGE).toContain("sp process");
    const ephemeral = plan([SOURCE, { $match: {} }], { ephemeral: true });
    expect(ephemeral.sink).toBeUndefined();
    expect(ephemeral.stages.map((s) => s.kind)).toEqual(["match"]);
  });

  it("allows no stage after the sink", () => {
    expect(issues([SOURCE, MERGE, { $match: {} }])).toEqual([
      { path: "pipeline[2]", message: "No stages are allowed after a $merge or $emit stage." },
    ]);
    expect(issues([SOURCE, MERGE, MERGE])).toEqual([
      { path: "pipeline[2]", message: "No stages are allowed after a $merge or $emit stage." },
    ]);
  });

  it.each(["$bucket", "$facet", "$out", "$setWindowFields", "$densify", "$fill", "$graphLookup", "$nope"])(
    "reports %s as unsupported",
    (name) => {
      expect(stageIssues({ [name]: {} })).toEqual([
        { path: "pipeline[1]", message: `Unsupported stage: ${name}` },
      ]);
    },
  );

  it("collects the problems of every stage in one pass", () => {
    expect(issues([SOURCE, { $group: GROUP.$group }, { $bucket: {} }, { $limit: 1 }, MERGE])).toEqual([
      {
        path: "pipeline[1]",
        message: "$group stage is only permitted in the inner pipeline of a window stage",
      },
      { path: "pipeline[2]", message: "Unsupported stage: $bucket" },
      {
        path: "pipeline[3]",
        message: "$limit stage is only permitted in the inner pipeline of a window stage",
      },
    ]);
  });

  it("wraps MQL compile errors with their path", () => {
    expect(stageIssues({ $match: { a: { $gtx: 1 } } })).toEqual([
      { path: "pipeline[1].$match.a.$gtx", message: expect.stringContaining("$gtx") },
    ]);
    expect(stageIssues({ $addFields: { a: { $nope: 1 } } })[0].path).toBe("pipeline[1].$addFields.a.$nope");
  });

  it("rejects $text in $match with ASP's message", () => {
    expect(stageIssues({ $match: { $text: { $search: "x" } } })).toEqual([
      {
        path: "pipeline[1].$match.$text",
        message: "Cannot use $text in $match stage in Atlas Stream Processing.",
      },
    ]);
  });

  it("accepts $$NOW and rejects the other unsupported system variables", () => {
    expect(stageIssues({ $addFields: { at: "$$NOW" } })).toEqual([]);
    expect(stageIssues({ $addFields: { t: "$$CLUSTER_TIME", r: "$$USER_ROLES" } })).toEqual([
      {
        path: "pipeline[1].$addFields.t",
        message: "$$CLUSTER_TIME is not supported in Atlas Stream Processing",
      },
      {
        path: "pipeline[1].$addFields.r",
        message: "$$USER_ROLES is not supported in Atlas Stream Processing",
      },
    ]);
  });
});

describe("placement matrix", () => {
  it.each(["$group", "$sort", "$count", "$limit"])("%s is only permitted inside a window", (name) => {
    const spec = { $group: GROUP.$group, $sort: { a: 1 }, $count: "n", $limit: 5 }[name];
    expect(stageIssues({ [name]: spec })).toEqual([
      {
        path: "pipeline[1]",
        message: `${name} stage is only permitted in the inner pipeline of a window stage`,
      },
    ]);
  });

  it.each([
    ["$cachedLookup", {}],
    ["$setStreamMeta", { "stream.a": 1 }],
    ["$merge", MERGE.$merge],
    ["$emit", { connectionName: "kafka", topic: "t" }],
    ["$hoppingWindow", {}],
    ["$source", SOURCE.$source],
  ])("%s is not permitted inside a window", (name, spec) => {
    const window = {
      $tumblingWindow: { interval: { size: 1, unit: "second" }, pipeline: [{ [name]: spec }, GROUP] },
    };
    expect(stageIssues(window)).toEqual([
      {
        path: "pipeline[1].$tumblingWindow.pipeline[0]",
        message: `${name} stage is not permitted in the inner pipeline of a window stage`,
      },
    ]);
  });

  it("allows stateless and connector stages inside a window", () => {
    const inner = [
      { $match: { a: 1 } },
      { $addFields: { b: 1 } },
      { $unwind: "$xs" },
      { $validate: { validator: {} } },
      {
        $lookup: {
          from: { connectionName: "atlas", db: "d", coll: "c" },
          localField: "a",
          foreignField: "b",
          as: "j",
        },
      },
      GROUP,
      { $sort: { n: -1 } },
      { $limit: 3 },
      { $project: { n: 1 } },
    ];
    const p = plan([
      SOURCE,
      { $tumblingWindow: { interval: { size: 1, unit: "second" }, pipeline: inner } },
      MERGE,
    ]);
    const window = p.stages[0];
    expect(window.kind).toBe("window");
    if (window.kind !== "window") return;
    expect(window.window.pipeline.map((s) => s.kind)).toEqual([
      "match",
      "transform",
      "unwind",
      "validate",
      "lookup",
      "group",
      "sort",
      "limit",
      "transform",
    ]);
  });

  it("allows only reshaping stages in an $https payload", () => {
    const https = (payload: unknown[]) => ({
      $https: { connectionName: "api", as: "r", method: "POST", payload },
    });
    expect(
      stageIssues(
        https([
          { $project: { a: 1 } },
          { $addFields: { b: 1 } },
          { $set: { c: 1 } },
          { $replaceRoot: { newRoot: "$x" } },
        ]),
      ),
    ).toEqual([]);
    expect(stageIssues(https([{ $match: {} }, { $unset: "a" }]))).toEqual([
      {
        path: "pipeline[1].$https.payload[0]",
        message: "$match stage is not permitted in the payload (inner pipeline) of an https stage",
      },
      {
        path: "pipeline[1].$https.payload[1]",
        message: "$unset stage is not permitted in the payload (inner pipeline) of an https stage",
      },
    ]);
  });

  it("allows one window per pipeline", () => {
    expect(issues([SOURCE, TUMBLING, TUMBLING, MERGE])).toEqual([
      { path: "pipeline[2]", message: "Only one window stage is allowed in a pipeline." },
    ]);
  });
});

describe("options.dlq", () => {
  it("plans a DLQ target", () => {
    expect(plan([SOURCE, MERGE], { dlq: true }).dlq).toEqual({
      connectionName: "atlas",
      db: "d",
      coll: "dlq",
    });
  });

  it("requires connectionName, db and coll on an Atlas connection", () => {
    const run = (dlq: unknown) => {
      try {
        planProcessor(
          { name: "p", pipeline: [SOURCE, MERGE], options: { dlq } },
          { connectors: CONNECTORS, connections: CONNECTIONS },
        );
        return [];
      } catch (error) {
        return (error as PlanError).errors;
      }
    };
    expect(run({ connectionName: "atlas" })).toEqual([
      { path: "options.dlq.db", message: "BSON field 'options.dlq.db' is missing but a required field" },
      { path: "options.dlq.coll", message: "BSON field 'options.dlq.coll' is missing but a required field" },
    ]);
    expect(run({ connectionName: "kafka", db: "d", coll: "c" })).toEqual([
      {
        path: "options.dlq.connectionName",
        message: "The dead letter queue must use an atlas connection (connection 'kafka' is of type Kafka)",
      },
    ]);
    expect(run({ connectionName: "atlas", db: "d", coll: "c", x: 1 })).toEqual([
      { path: "options.dlq.x", message: "BSON field 'options.dlq.x' is an unknown field." },
    ]);
    expect(run({})).toEqual([]);
  });
});

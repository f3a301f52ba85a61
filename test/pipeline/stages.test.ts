import { describe, expect, it } from "vitest";
import type { StagePlan } from "../../src/pipeline/plan.ts";
import { MERGE, plan, SOURCE, stageIssues } from "./helpers.ts";

const stageOf = (stage: unknown, options: { dlq?: boolean } = {}): StagePlan =>
  plan([SOURCE, stage, MERGE], options).stages[0];

describe("document stages", () => {
  it.each([
    [{ $match: { a: 1 } }, "match", "MatchOperator"],
    [{ $project: { a: 1 } }, "transform", "ProjectOperator"],
    [{ $addFields: { a: 1 } }, "transform", "AddFieldsOperator"],
    [{ $set: { a: 1 } }, "transform", "SetOperator"],
    [{ $unset: "a" }, "transform", "UnsetOperator"],
    [{ $replaceRoot: { newRoot: "$a" } }, "transform", "ReplaceRootOperator"],
    [{ $replaceWith: "$a" }, "transform", "ReplaceRootOperator"],
    [{ $redact: "$$KEEP" }, "transform", "RedactOperator"],
    [{ $unwind: "$a" }, "unwind", "UnwindOperator"],
  ])("plans %j as %s (%s)", (stage, kind, operatorName) => {
    expect(stageOf(stage)).toMatchObject({
      kind,
      operatorName,
      path: `pipeline[1].${Object.keys(stage)[0]}`,
    });
  });

  it("compiles transforms that read stream metadata from vars", () => {
    const stage = stageOf({ $addFields: { topic: { $meta: "stream.source.topic" } } });
    if (stage.kind !== "transform") throw new Error("expected transform");
    expect(stage.apply({ a: 1 }, { $stream: { source: { topic: "t1" } } })).toEqual({ a: 1, topic: "t1" });
  });

  it("runs $replaceWith and $unwind", () => {
    const replace = stageOf({ $replaceWith: "$inner" });
    if (replace.kind !== "transform") throw new Error("expected transform");
    expect(replace.apply({ inner: { x: 1 } })).toEqual({ x: 1 });
    const unwind = stageOf({ $unwind: "$xs" });
    if (unwind.kind !== "unwind") throw new Error("expected unwind");
    expect(unwind.apply({ xs: [1, 2] })).toEqual([{ xs: 1 }, { xs: 2 }]);
  });
});

describe("$validate", () => {
  it("defaults to discard and compiles the validator", () => {
    const stage = stageOf({ $validate: { validator: { $jsonSchema: { required: ["a"] } } } });
    if (stage.kind !== "validate") throw new Error("expected validate");
    expect(stage.action).toBe("discard");
    expect(stage.predicate({ a: 1 })).toBe(true);
    expect(stage.predicate({ b: 1 })).toBe(false);
  });

  it("requires a DLQ for validationAction dlq", () => {
    expect(stageIssues({ $validate: { validator: {}, validationAction: "dlq" } })).toEqual([
      {
        path: "pipeline[1].$validate.validationAction",
        message: "DLQ must be specified if validation action is dlq.",
      },
    ]);
    expect(stageOf({ $validate: { validator: {}, validationAction: "dlq" } }, { dlq: true })).toMatchObject({
      action: "dlq",
    });
  });

  it("has no error action and rejects unknown fields", () => {
    expect(
      stageIssues({ $validate: { validator: {}, validationAction: "error", validationLevel: "strict" } }),
    ).toEqual([
      {
        path: "pipeline[1].$validate.validationLevel",
        message: "BSON field '$validate.validationLevel' is an unknown field.",
      },
      {
        path: "pipeline[1].$validate.validationAction",
        message: "Enumeration value 'error' for field '$validate.validationAction' is not a valid value.",
      },
    ]);
  });
});

describe("$setStreamMeta", () => {
  it("compiles stream.* keys without the prefix", () => {
    const stage = stageOf({ $setStreamMeta: { "stream.coll": "$category" } });
    if (stage.kind !== "setStreamMeta") throw new Error("expected setStreamMeta");
    expect(stage.fields.map(([key]) => key)).toEqual(["coll"]);
    expect(stage.fields[0][1]({ category: "books" }, {})).toBe("books");
  });

  it("requires the stream. prefix", () => {
    expect(stageIssues({ $setStreamMeta: { coll: "$c", "stream.": 1 } })).toEqual([
      {
        path: "pipeline[1].$setStreamMeta.coll",
        message: "$setStreamMeta field names must start with 'stream.', found 'coll'",
      },
      {
        path: "pipeline[1].$setStreamMeta.stream.",
        message: "$setStreamMeta field names must start with 'stream.', found 'stream.'",
      },
    ]);
  });
});

describe("$lookup and $cachedLookup", () => {
  const from = { connectionName: "atlas", db: "d", coll: "c" };

  it("plans the equality and the let/pipeline forms", () => {
    expect(
      stageOf({ $lookup: { from, localField: "a", foreignField: "b", as: "j", parallelism: 2 } }),
    ).toMatchObject({
      kind: "lookup",
      operatorName: "LookUpOperator",
      connectionName: "atlas",
    });
    const stage = stageOf({
      $lookup: { from, let: { x: "$a" }, pipeline: [{ $match: { $expr: { $eq: ["$b", "$$x"] } } }], as: "j" },
    });
    if (stage.kind !== "lookup") throw new Error("expected lookup");
    expect(stage.evaluators?.["let.x"]({ a: 5 }, {})).toBe(5);
  });

  it("reports ASP's $lookup errors", () => {
    expect(
      stageIssues({
        $lookup: { from: { connectionName: "kafka", db: "d", coll: "c" }, localField: "a", as: "j" },
      }),
    ).toEqual([
      {
        path: "pipeline[1].$lookup.from.connectionName",
        message:
          "Only atlas connection type is currently supported for $lookup (connection 'kafka' is of type Kafka)",
      },
      {
        path: "pipeline[1].$lookup.foreignField",
        message: "BSON field '$lookup.foreignField' is missing but a required field",
      },
    ]);
    expect(
      stageIssues({
        $lookup: {
          from: { connectionName: "atlas", db: "d" },
          localField: "a",
          foreignField: "b",
          as: "j",
          parallelism: 0,
        },
      }),
    ).toEqual([
      {
        path: "pipeline[1].$lookup.from.coll",
        message: "BSON field '$lookup.from.coll' is missing but a required field",
      },
      { path: "pipeline[1].$lookup.parallelism", message: "parallelism must be between 1 and 64, got 0" },
    ]);
  });

  it("plans $cachedLookup and requires its ttl", () => {
    expect(
      stageOf({
        $cachedLookup: {
          ttl: { size: 5, unit: "minute" },
          from,
          localField: "a",
          foreignField: "_id",
          as: "j",
        },
      }),
    ).toMatchObject({ kind: "cachedLookup", connectionName: "atlas" });
    expect(
      stageIssues({ $cachedLookup: { from, localField: "a", foreignField: "_id", as: "j", let: {} } }),
    ).toEqual([
      {
        path: "pipeline[1].$cachedLookup.let",
        message: "BSON field '$cachedLookup.let' is an unknown field.",
      },
      {
        path: "pipeline[1].$cachedLookup.ttl",
        message: "BSON field '$cachedLookup.ttl' is missing but a required field",
      },
    ]);
  });
});

describe("$https and $externalFunction", () => {
  it("compiles path, parameters, headers and payload", () => {
    const stage = stageOf({
      $https: {
        connectionName: "api",
        path: { $concat: ["/u/", "$id"] },
        method: "POST",
        parameters: { units: "metric", lat: "$pos.lat" },
        headers: { "X-Req": "$req" },
        payload: [{ $project: { _id: 0, id: 1 } }],
        as: "r",
        onError: "ignore",
        config: { requestTimeoutSec: 10 },
      },
    });
    if (stage.kind !== "https") throw new Error("expected https");
    const doc = { id: "7", pos: { lat: 1.5 }, req: "q" };
    expect(stage.evaluators?.path(doc, {})).toBe("/u/7");
    expect(stage.evaluators?.["parameters.lat"](doc, {})).toBe(1.5);
    expect(stage.evaluators?.["headers.X-Req"](doc, {})).toBe("q");
    expect(stage.payload?.(doc)).toEqual({ id: "7" });
  });

  it("reports $https errors", () => {
    expect(
      stageIssues({
        $https: {
          connectionName: "atlas",
          method: "HEAD",
          headers: { a: 1 },
          config: { connectionTimeoutSec: 900 },
          onError: "retry",
        },
      }),
    ).toEqual([
      {
        path: "pipeline[1].$https.connectionName",
        message: "Only https connection type is supported for $https (connection 'atlas' is of type Cluster)",
      },
      {
        path: "pipeline[1].$https.method",
        message: "Enumeration value 'HEAD' for field '$https.method' is not a valid value.",
      },
      {
        path: "pipeline[1].$https.headers.a",
        message:
          "Headers defined in the pipeline operator can only define string values or field path expressions.",
      },
      {
        path: "pipeline[1].$https.as",
        message: "$https.as must be specified unless $https is the last stage",
      },
      {
        path: "pipeline[1].$https.onError",
        message: "Enumeration value 'retry' for field '$https.onError' is not a valid value.",
      },
      {
        path: "pipeline[1].$https.config.connectionTimeoutSec",
        message: "connectionTimeoutSec must be between 1 and 899 seconds, got 900",
      },
    ]);
  });

  it("checks $externalFunction execution modes", () => {
    expect(
      stageOf({ $externalFunction: { connectionName: "lambda", functionName: "f", as: "r" } }),
    ).toMatchObject({
      kind: "externalFunction",
      connectionName: "lambda",
    });
    expect(
      stageIssues({
        $externalFunction: { connectionName: "lambda", functionName: "f", execution: "async", as: "r" },
      }),
    ).toEqual([
      {
        path: "pipeline[1].$externalFunction.as",
        message: "$externalFunction.as cannot be set when execution is async",
      },
    ]);
  });
});

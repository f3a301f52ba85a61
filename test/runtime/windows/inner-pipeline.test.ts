import { describe, expect, it } from "vitest";
import { DocumentsSource } from "../../../src/connectors/documents/source.ts";
import { MqlRuntimeError, type Doc } from "../../../src/mql/index.ts";
import { catalogOf, planProcessor } from "../../../src/pipeline/index.ts";
import { ev, runPlan } from "../helpers.ts";
import { CONNECTORS } from "../../../src/connectors/registry.ts";

/** Plans a tumbling 10 s window (lateness 0) over `docs` with the given inner pipeline, via the real planner. */
function windowPlan(pipeline: unknown[], extra: unknown[] = []) {
  return planProcessor(
    {
      name: "inner",
      pipeline: [
        { $source: { documents: [], timeField: { $dateFromString: { dateString: "$t" } } } },
        { $tumblingWindow: { interval: { size: 10, unit: "second" }, allowedLateness: 0, pipeline } },
        ...extra,
      ],
    },
    { connectors: CONNECTORS, connections: catalogOf(), ephemeral: true },
  );
}

const docs = [
  ev(1, { k: "a", v: 3 }),
  ev(2, { k: "b", v: 1 }),
  ev(3, { k: "a", v: 2 }),
  ev(4, { k: "c", v: 9 }),
  ev(12, { k: "a", v: 5 }),
];

describe("window inner pipelines", () => {
  it("runs stateless stages on entry and $sort/$limit at close, emitting documents with window meta", async () => {
    const plan = windowPlan([{ $match: { v: { $gt: 1 } } }, { $sort: { v: -1 } }, { $limit: 2 }]);
    const { out } = await runPlan(plan, new DocumentsSource(docs));
    expect(out.map((d) => d.v)).toEqual([9, 3, 5]);
    expect((out[0]._stream_meta as Doc).window).toEqual({ start: new Date(0), end: new Date(10_000) });
  });

  it("$count emits one document per non-empty window", async () => {
    const { out } = await runPlan(windowPlan([{ $count: "n" }]), new DocumentsSource(docs));
    expect(out.map((d) => d.n)).toEqual([4, 1]);
  });

  it("stages after $group see the window through $meta", async () => {
    const plan = windowPlan([
      { $group: { _id: "$k", total: { $sum: "$v" } } },
      { $sort: { _id: 1 } },
      { $project: { _id: 0, k: "$_id", total: 1, start: { $meta: "stream.window.start" } } },
    ]);
    const { out } = await runPlan(plan, new DocumentsSource(docs));
    expect(out.map((d) => [d.k, d.total, (d.start as Date).getTime()])).toEqual([
      ["a", 5, 0],
      ["b", 1, 0],
      ["c", 9, 0],
      ["a", 5, 10_000],
    ]);
  });

  it("dead-letters a document whose group key fails, as GroupOperator, and keeps the rest", async () => {
    const plan = windowPlan([{ $group: { _id: { $divide: [10, "$v"] }, n: { $sum: 1 } } }]);
    const { out, dlq } = await runPlan(
      plan,
      new DocumentsSource([ev(1, { v: 2 }), ev(2, { v: 0 }), ev(3, { v: 2 })]),
    );
    expect(out.map((d) => [d._id, d.n])).toEqual([[5, 2]]);
    expect(dlq.records[0]).toMatchObject({ operatorName: "GroupOperator", doc: { v: 0 } });
    expect((dlq.records[0].errInfo as Doc).reason).toMatch(
      /^Failed to process input document in GroupOperator with error: /,
    );
  });

  it("$setStreamMeta before the window stays readable in stages after it for buffered documents", async () => {
    const plan = planProcessor(
      {
        name: "meta",
        pipeline: [
          {
            $source: { documents: [ev(1, { x: "a" })], timeField: { $dateFromString: { dateString: "$t" } } },
          },
          { $setStreamMeta: { "stream.tag": { $concat: ["t-", "$x"] } } },
          {
            $tumblingWindow: {
              interval: { size: 10, unit: "second" },
              allowedLateness: 0,
              pipeline: [{ $sort: { x: 1 } }],
            },
          },
          { $addFields: { tag: { $meta: "stream.tag" }, start: { $meta: "stream.window.start" } } },
        ],
      },
      { connectors: CONNECTORS, connections: catalogOf(), ephemeral: true },
    );
    const { out } = await runPlan(plan, new DocumentsSource([ev(1, { x: "a" })]));
    expect(out[0].tag).toBe("t-a");
    expect(out[0].start).toEqual(new Date(0));
  });
});

describe("errors escaping a window at close", () => {
  it("dead-letter the whole window with its meta and no doc", async () => {
    const plan = windowPlan([{ $sort: { v: 1 } }], [{ $addFields: { r: { $divide: [1, "$v"] } } }]);
    // Fail inside the window: replace the sort's comparison with one that throws a per-document error.
    const window = plan.stages[0] as unknown as { window: { pipeline: { compare?: unknown }[] } };
    window.window.pipeline[0].compare = () => {
      throw new MqlRuntimeError("$sort", "$sort", "boom");
    };
    const { out, dlq } = await runPlan(
      plan,
      new DocumentsSource([ev(1, { v: 2 }), ev(2, { v: 1 }), ev(15, { v: 4 })]),
    );
    expect(out.map((d) => d.r)).toEqual([0.25]);
    expect(dlq.records).toHaveLength(1);
    expect(dlq.records[0]).toMatchObject({
      _stream_meta: { source: { type: "generated" }, window: { start: new Date(0), end: new Date(10_000) } },
      errInfo: { reason: expect.stringContaining("with error: boom") },
    });
    expect(dlq.records[0]).not.toHaveProperty("doc");
  });
});

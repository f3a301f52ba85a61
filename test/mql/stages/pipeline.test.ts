import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileQuery } from "../../../src/mql/query/compile.ts";
import { compileAddFields } from "../../../src/mql/stages/add-fields.ts";
import { compileProject } from "../../../src/mql/stages/project.ts";
import type { Doc } from "../../../src/mql/types.ts";
import { normalize, RUNS, runMingo } from "./support.ts";

const event = fc.record(
  {
    _id: fc.nat(),
    device_id: fc.constantFrom("d1", "d2", "d3"),
    group_id: fc.integer({ min: 0, max: 5 }),
    obs: fc.record(
      {
        watts: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.double({ min: 0, max: 100, noNaN: true })),
        temp: fc.integer({ min: -10, max: 45 }),
      },
      { requiredKeys: ["watts"] },
    ),
    tags: fc.array(fc.constantFrom("a", "b"), { maxLength: 2 }),
  },
  { requiredKeys: ["_id", "device_id", "obs", "tags"] },
);

const matches = fc.constantFrom<Doc>(
  { group_id: { $lt: 3 } },
  { "obs.watts": { $gte: 20 }, device_id: { $in: ["d1", "d2"] } },
  { $or: [{ tags: "a" }, { "obs.temp": { $gt: 30 } }] },
  { group_id: { $exists: false } },
);
const addFields = fc.constantFrom<Doc>(
  {
    watts_adj: { $multiply: ["$obs.watts", 1.1] },
    level: { $cond: [{ $gt: ["$obs.temp", 30] }, "hot", "ok"] },
  },
  { "obs.kw": { $divide: ["$obs.watts", 1000] }, n: { $size: "$tags" } },
  { device_id: { $concat: ["dev-", "$device_id"] }, hot: { $gte: ["$obs.temp", 25] } },
);
const projects = fc.constantFrom<Doc>(
  { _id: 0, device_id: 1, watts_adj: 1, level: 1, temp: "$obs.temp" },
  { "obs.watts": 1, "obs.kw": 1, n: 1 },
  { tags: 0, "obs.temp": 0 },
  { device_id: 1, hot: 1, label: { $toUpper: "$device_id" } },
);

describe("$match + $addFields + $project against mingo", () => {
  it("agrees on whole pipelines over IoT-like events", () => {
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 6 }),
        matches,
        addFields,
        projects,
        (events, match, add, project) => {
          const pipeline = [{ $match: match }, { $addFields: add }, { $project: project }];
          const matchFn = compileQuery(match, { path: "pipeline[0].$match" });
          const addFn = compileAddFields(add, { path: "pipeline[1].$addFields" });
          const projectFn = compileProject(project, { path: "pipeline[2].$project" });
          const ours = events.filter((e) => matchFn(e)).map((e) => projectFn(addFn(e)));
          expect(normalize(ours)).toEqual(normalize(runMingo(pipeline, events)));
        },
      ),
      RUNS,
    );
  });
});

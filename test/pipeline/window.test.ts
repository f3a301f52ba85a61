import { describe, expect, it } from "vitest";
import type { WindowPlan } from "../../src/pipeline/plan.ts";
import { GROUP, MERGE, plan, SOURCE, stageIssues } from "./helpers.ts";

function windowOf(stage: unknown): WindowPlan {
  const planned = plan([SOURCE, stage, MERGE]).stages[0];
  if (planned.kind !== "window") throw new Error("expected a window");
  return planned.window;
}

const second = (size: number) => ({ size, unit: "second" });

describe("window stages", () => {
  it("plans a tumbling window with ASP's defaults", () => {
    expect(windowOf({ $tumblingWindow: { interval: second(10), pipeline: [GROUP] } })).toMatchObject({
      type: "tumbling",
      intervalMs: 10_000,
      hopMs: 10_000,
      gapMs: 0,
      offsetMs: 0,
      allowedLatenessMs: 3000,
      idleTimeoutMs: undefined,
      boundary: "eventTime",
      partitionBy: undefined,
    });
  });

  it("reads every option in every unit", () => {
    const window = windowOf({
      $hoppingWindow: {
        interval: { size: 1, unit: "hour" },
        hopSize: { size: 15, unit: "minute" },
        allowedLateness: { size: 500, unit: "ms" },
        idleTimeout: { size: 1, unit: "day" },
        offset: { offsetFromUtc: -2, unit: "hour" },
        pipeline: [GROUP],
      },
    });
    expect(window).toMatchObject({
      type: "hopping",
      intervalMs: 3_600_000,
      hopMs: 900_000,
      allowedLatenessMs: 500,
      idleTimeoutMs: 86_400_000,
      offsetMs: -7_200_000,
    });
    expect(window.pipeline.map((s) => s.kind)).toEqual(["group"]);
  });

  it("accepts integer 0 for allowedLateness and idleTimeout, and rejects other integers", () => {
    expect(
      windowOf({
        $tumblingWindow: { interval: second(1), allowedLateness: 0, idleTimeout: 0, pipeline: [GROUP] },
      }),
    ).toMatchObject({
      allowedLatenessMs: 0,
      idleTimeoutMs: undefined,
    });
    expect(
      stageIssues({
        $tumblingWindow: { interval: second(1), allowedLateness: 5, idleTimeout: 2, pipeline: [GROUP] },
      }),
    ).toEqual([
      {
        path: "pipeline[1].$tumblingWindow.allowedLateness",
        message: "Must specify unit and size for non-zero allowed lateness values",
      },
      {
        path: "pipeline[1].$tumblingWindow.idleTimeout",
        message: "Must specify unit and size for non-zero idle timeout values",
      },
    ]);
  });

  it("caps allowedLateness at 30 minutes", () => {
    expect(
      windowOf({
        $tumblingWindow: {
          interval: second(1),
          allowedLateness: { size: 30, unit: "minute" },
          pipeline: [GROUP],
        },
      }).allowedLatenessMs,
    ).toBe(1_800_000);
    expect(
      stageIssues({
        $tumblingWindow: {
          interval: second(1),
          allowedLateness: { size: 31, unit: "minute" },
          pipeline: [GROUP],
        },
      }),
    ).toEqual([
      {
        path: "pipeline[1].$tumblingWindow.allowedLateness",
        message: "Maximum allowedLateness is 30 minutes",
      },
    ]);
  });

  it("requires positive sizes", () => {
    expect(stageIssues({ $tumblingWindow: { interval: second(0), pipeline: [GROUP] } })).toEqual([
      {
        path: "pipeline[1].$tumblingWindow.interval.size",
        message: "Window interval size must be greater than 0.",
      },
    ]);
    expect(
      stageIssues({ $hoppingWindow: { interval: second(2), hopSize: second(-1), pipeline: [GROUP] } }),
    ).toEqual([
      {
        path: "pipeline[1].$hoppingWindow.hopSize.size",
        message: "Window hopSize size must be greater than 0.",
      },
    ]);
  });

  it("checks durations strictly", () => {
    expect(
      stageIssues({ $tumblingWindow: { interval: { size: 1.5, unit: "seconds", x: 1 }, pipeline: [GROUP] } }),
    ).toEqual([
      {
        path: "pipeline[1].$tumblingWindow.interval.x",
        message: "BSON field '$tumblingWindow.interval.x' is an unknown field.",
      },
      {
        path: "pipeline[1].$tumblingWindow.interval.size",
        message: "BSON field '$tumblingWindow.interval.size' must be an integer, got 1.5",
      },
      {
        path: "pipeline[1].$tumblingWindow.interval.unit",
        message:
          "Enumeration value 'seconds' for field '$tumblingWindow.interval.unit' is not a valid value.",
      },
    ]);
    expect(stageIssues({ $tumblingWindow: { pipeline: [GROUP] } })).toEqual([
      {
        path: "pipeline[1].$tumblingWindow.interval",
        message: "BSON field '$tumblingWindow.interval' is missing but a required field",
      },
    ]);
  });

  it("rejects fields of other window types", () => {
    expect(
      stageIssues({ $tumblingWindow: { interval: second(1), gap: second(1), pipeline: [GROUP] } }),
    ).toEqual([
      {
        path: "pipeline[1].$tumblingWindow.gap",
        message: "BSON field '$tumblingWindow.gap' is an unknown field.",
      },
    ]);
  });

  it("processing-time windows allow no lateness or idle timeout", () => {
    expect(
      windowOf({ $tumblingWindow: { interval: second(1), boundary: "processingTime", pipeline: [GROUP] } }),
    ).toMatchObject({
      boundary: "processingTime",
      allowedLatenessMs: 0,
    });
    expect(
      stageIssues({
        $tumblingWindow: {
          interval: second(1),
          boundary: "processingTime",
          allowedLateness: second(1),
          pipeline: [GROUP],
        },
      }),
    ).toEqual([
      {
        path: "pipeline[1].$tumblingWindow.allowedLateness",
        message: "allowedLateness is not allowed when boundary is processingTime",
      },
    ]);
  });

  it("plans a session window with gap and partitionBy", () => {
    const window = windowOf({
      $sessionWindow: { gap: { size: 5, unit: "minute" }, partitionBy: "$user", pipeline: [GROUP] },
    });
    expect(window).toMatchObject({ type: "session", gapMs: 300_000, intervalMs: 0, hopMs: 0 });
    expect(window.partitionBy?.({ user: "u1" }, {})).toBe("u1");
  });

  it("requires partitionBy and a $group or $sort in a session window", () => {
    expect(stageIssues({ $sessionWindow: { gap: second(1), pipeline: [{ $project: { a: 1 } }] } })).toEqual([
      {
        path: "pipeline[1].$sessionWindow.partitionBy",
        message: "BSON field '$sessionWindow.partitionBy' is missing but a required field",
      },
      {
        path: "pipeline[1].$sessionWindow.pipeline",
        message:
          "The $sessionWindow.pipeline isn't supported, there must be a $group or $sort in the pipeline.",
      },
    ]);
    expect(
      stageIssues({
        $sessionWindow: { gap: second(1), partitionBy: "$u", pipeline: [{ $limit: 1 }, { $sort: { a: 1 } }] },
      }),
    ).toEqual([
      {
        path: "pipeline[1].$sessionWindow.pipeline[0].$limit",
        message: "$limit is not allowed before the first $group or $sort of a $sessionWindow pipeline",
      },
    ]);
  });

  it("checks the inner stages", () => {
    expect(
      stageIssues({
        $tumblingWindow: {
          interval: second(1),
          pipeline: [{ $count: "$n" }, { $limit: 0 }, { $sort: { a: 2 } }],
        },
      }),
    ).toEqual([
      {
        path: "pipeline[1].$tumblingWindow.pipeline[0].$count",
        message: "the count field cannot be a $-prefixed path",
      },
      { path: "pipeline[1].$tumblingWindow.pipeline[1].$limit", message: "the limit must be positive" },
      {
        path: "pipeline[1].$tumblingWindow.pipeline[2].$sort.a",
        message: "$sort key ordering must be 1 (for ascending) or -1 (for descending)",
      },
    ]);
    const window = windowOf({ $tumblingWindow: { interval: second(1), pipeline: [{ $count: "n" }] } });
    expect(window.pipeline).toMatchObject([{ kind: "count", field: "n", operatorName: "GroupOperator" }]);
  });
});

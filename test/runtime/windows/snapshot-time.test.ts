import "../../support/fast-check.ts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Doc } from "../../../src/mql/index.ts";
import { expectSameAfterRestore, planWindow } from "./snapshot-harness.ts";
import { ALL_ACCUMULATORS, streamWithCut } from "./snapshot-streams.ts";

const seconds = (size: number) => ({ size, unit: "second" });

const tumbling =
  (pipeline: unknown[], extra: Doc = {}) =>
  () =>
    planWindow({
      $tumblingWindow: { interval: seconds(3), allowedLateness: seconds(1), pipeline, ...extra },
    });

const hopping =
  (pipeline: unknown[], extra: Doc = {}) =>
  () =>
    planWindow({
      $hoppingWindow: {
        interval: seconds(6),
        hopSize: seconds(2),
        allowedLateness: seconds(1),
        pipeline,
        ...extra,
      },
    });

describe("time window snapshots: restore continues exactly like an uninterrupted run", () => {
  it("tumbling window with every $group accumulator, late data and allowedLateness", () => {
    fc.assert(
      fc.property(streamWithCut(), ({ steps, cut }) => {
        expectSameAfterRestore(tumbling([{ $group: ALL_ACCUMULATORS }]), steps, cut);
      }),
      { numRuns: 60 },
    );
  });

  it("hopping (overlapping) windows with every $group accumulator", () => {
    fc.assert(
      fc.property(streamWithCut(), ({ steps, cut }) => {
        expectSameAfterRestore(hopping([{ $group: ALL_ACCUMULATORS }]), steps, cut);
      }),
      { numRuns: 60 },
    );
  });

  it("buffered windows ($match, $sort, $limit; $group after $sort; $count), tumbling and hopping", () => {
    const buffered = [
      [{ $match: { k: { $ne: "k3" } } }, { $sort: { v: -1, t: 1 } }, { $limit: 3 }],
      [{ $sort: { t: 1 } }, { $group: { _id: "$k", vs: { $push: "$v" }, n: { $sum: 1 } } }],
      [{ $addFields: { w: { $multiply: [2, { $ifNull: ["$n.seq", 0] }] } } }, { $count: "n" }],
    ];
    fc.assert(
      fc.property(streamWithCut(), fc.nat({ max: buffered.length - 1 }), fc.boolean(), (s, which, hop) => {
        const plan = (hop ? hopping : tumbling)(buffered[which]);
        expectSameAfterRestore(plan, s.steps, s.cut);
      }),
      { numRuns: 80 },
    );
  });

  it("several partitions with partitionIdleTimeout, source-reported idle partitions and idleTimeout", () => {
    fc.assert(
      fc.property(streamWithCut({ partitions: 3, idle: true }), fc.boolean(), ({ steps, cut }, hop) => {
        const plan = (hop ? hopping : tumbling)(
          [{ $group: { _id: "$k", n: { $sum: 1 }, v: { $push: "$v" } } }],
          {
            idleTimeout: seconds(2),
          },
        );
        expectSameAfterRestore(plan, steps, cut, { partitionIdleTimeoutMs: 1500 });
      }),
      { numRuns: 300 },
    );
  });

  it("processing-time windows (closed by wall-clock ticks on idle polls)", () => {
    fc.assert(
      fc.property(streamWithCut({ idle: true }), ({ steps, cut }) => {
        const plan = () =>
          planWindow({
            $tumblingWindow: {
              interval: seconds(1),
              boundary: "processingTime",
              pipeline: [{ $group: { _id: "$k", n: { $sum: 1 }, vs: { $push: "$v" } } }],
            },
          });
        expectSameAfterRestore(plan, steps, cut);
      }),
      { numRuns: 60 },
    );
  });

  it("a cut at every step of one stream gives the same outputs", () => {
    const [{ steps }] = fc.sample(streamWithCut({ maxEvents: 40, idle: true, partitions: 2 }), 1);
    for (let cut = 0; cut <= steps.length; cut++)
      expectSameAfterRestore(hopping([{ $group: ALL_ACCUMULATORS }]), steps, cut, {
        partitionIdleTimeoutMs: 1000,
      });
  });

  it("never re-emits a window that closed before the checkpoint, and dead-letters late data for it", () => {
    const t = (s: number) => 1_700_000_004_000 + s * 1000; // a multiple of the 3 s interval
    const doc = (s: number, v: number) => ({ doc: { t: t(s), k: "a", v }, partition: 0 });
    const steps = [
      { records: [doc(0.5, 1), doc(1, 2), doc(3.5, 3)], advance: 10 },
      { records: [doc(5, 4)], advance: 10 }, // [0, 3) closes (watermark 5 s − 1 ms − 1 s lateness ≥ 3 s)
      { records: [doc(2, 5), doc(5.5, 6)], advance: 10 }, // late for [0, 3)
    ];
    const plan = tumbling([{ $group: { _id: "$k", vs: { $push: "$v" } } }]);
    const { whole, resumed } = expectSameAfterRestore(plan, steps, 2);
    expect(whole.output.map((d) => d.vs)).toEqual([
      [1, 2],
      [3, 4, 6],
    ]);
    expect(resumed.output.map((d) => d.vs)).toEqual([[3, 4, 6]]);
    expect(resumed.dlq).toHaveLength(1);
    expect(resumed.dlq[0]).toMatchObject({ error: "Input document arrived late." });
  });
});

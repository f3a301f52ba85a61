import "../../support/fast-check.ts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectSameAfterRestore, planWindow } from "./snapshot-harness.ts";
import { ALL_ACCUMULATORS, streamWithCut, T0 } from "./snapshot-streams.ts";

const seconds = (size: number) => ({ size, unit: "second" });

const session =
  (pipeline: unknown[], allowedLateness = seconds(1)) =>
  () =>
    planWindow({ $sessionWindow: { partitionBy: "$k", gap: seconds(2), allowedLateness, pipeline } });

describe("session window snapshots: restore continues exactly like an uninterrupted run", () => {
  it("sessions per key with every $group accumulator, merges, late data and allowedLateness", () => {
    fc.assert(
      fc.property(streamWithCut({ maxGapMs: 1200 }), ({ steps, cut }) => {
        expectSameAfterRestore(session([{ $group: ALL_ACCUMULATORS }]), steps, cut);
      }),
      { numRuns: 150 },
    );
  });

  it("sessions with $sort/$limit and without lateness, from several partitions", () => {
    fc.assert(
      fc.property(streamWithCut({ partitions: 2, idle: true, keys: 6 }), ({ steps, cut }) => {
        const plan = session([{ $sort: { v: 1, t: -1 } }, { $limit: 2 }], seconds(0));
        expectSameAfterRestore(plan, steps, cut, { partitionIdleTimeoutMs: 2000 });
      }),
      { numRuns: 150 },
    );
  });

  it("a session still open at the checkpoint merges with a later event and is emitted once", () => {
    const at = (ms: number, v: number) => ({ doc: { t: T0 + ms, k: "a", v }, partition: 0 });
    const steps = [
      { records: [at(0, 1), at(1500, 2)], advance: 10 },
      { records: [at(5000, 3)], advance: 10 }, // second session [5000, 7000); [0, 3500) stays open (lateness 3 s)
      { records: [at(3400, 4)], advance: 10 }, // bridges both sessions into [0, 7000)
      { records: [at(20_000, 5)], advance: 10 },
    ];
    const plan = session([{ $group: { _id: "$k", vs: { $push: "$v" } } }], seconds(3));
    for (let cut = 0; cut <= steps.length; cut++) {
      const { whole } = expectSameAfterRestore(plan, steps, cut);
      expect(whole.output.map((d) => d.vs)).toEqual([[1, 2, 3, 4], [5]]);
    }
  });
});

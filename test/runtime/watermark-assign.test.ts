import { describe, expect, it } from "vitest";
import { decodeRecord, encodeRecord } from "../../src/control/record-codec.ts";
import type { Doc } from "../../src/mql/index.ts";
import { decodeState, encodeState } from "../../src/runtime/state-codec.ts";
import { WatermarkTracker } from "../../src/runtime/watermark.ts";
import {
  documentsPlan,
  ev,
  FakeClock,
  group,
  runPlan,
  ScriptedSource,
  timeFieldOf,
  windowStage,
  type Step,
} from "./helpers.ts";

describe("watermarks over assigned partitions", () => {
  it("an assigned partition that delivered nothing holds the watermark back until it delivers", () => {
    const w = new WatermarkTracker(undefined);
    w.assign(["t:0", "t:1"], 0);
    w.observe("t:0", 60_000, 0);
    expect(w.current).toBe(-Infinity);
    w.observe("t:1", 1000, 0);
    expect(w.current).toBe(999);
    w.observe("t:1", 70_000, 0);
    expect(w.current).toBe(59_999);
  });

  it("releases an assigned, silent partition after partitionIdleTimeout counted from the assignment", () => {
    const w = new WatermarkTracker(30_000);
    w.assign(["t:0", "t:1"], 10_000);
    w.observe("t:0", 5000, 20_000);
    w.refresh(39_999);
    expect(w.current).toBe(-Infinity);
    w.refresh(40_000);
    expect(w.current).toBe(4999);
  });

  it("releases an assigned, silent partition the source reports idle", () => {
    const w = new WatermarkTracker(undefined);
    w.assign([0, 1], 0);
    w.observe(0, 5000, 0);
    w.refresh(0, [1]);
    expect(w.current).toBe(4999);
  });

  it("adds partitions on a new assignment and never drops one", () => {
    const w = new WatermarkTracker(undefined);
    const first = ["t:0"];
    w.assign(first, 0);
    w.assign(first, 0);
    w.observe("t:0", 5000, 0);
    expect(w.current).toBe(4999);
    w.assign(["t:0", "t:1"], 0); // rebalance: t:1 added
    w.observe("t:0", 9000, 0);
    expect(w.current).toBe(4999);
    w.assign(["t:1"], 0); // t:0 revoked for a moment: it still counts
    w.observe("t:1", 20_000, 0);
    expect(w.current).toBe(8999);
  });

  it("keeps assigned partitions that delivered nothing through a checkpoint", () => {
    const w = new WatermarkTracker(undefined);
    w.assign(["t:0", "t:1"], 0);
    w.observe("t:0", 5000, 0);
    // The way the runtime stores it: encodeState, then a state store record.
    const stored = decodeRecord(encodeRecord(encodeState(w.snapshot()))) as Doc;
    const restored = new WatermarkTracker(undefined);
    restored.restore(decodeState(stored) as Doc, { wallNow: 100 });
    restored.observe("t:0", 9000, 100);
    expect(restored.current).toBe(-Infinity);
    restored.observe("t:1", 2000, 100);
    expect(restored.current).toBe(1999);
  });
});

/** A scripted source that names its partitions before they deliver, like Kafka's assignment. */
class AssignedSource extends ScriptedSource {
  private readonly assigned: readonly number[];
  constructor(steps: Step[], assigned: readonly number[], clock?: FakeClock) {
    super(steps, clock);
    this.assigned = assigned;
  }
  partitions(): readonly number[] {
    return this.assigned;
  }
}

describe("runtime with a source that names its partitions", () => {
  const plan = documentsPlan(
    [windowStage({ type: "tumbling", intervalMs: 1000, pipeline: [group({ _id: null, n: { $sum: 1 } })] })],
    { timeField: timeFieldOf("t") },
  );
  // Partition 0 is read to the end before partition 1 delivers its first record.
  const steps: Step[] = [
    { docs: [ev(1.1), ev(2.1), ev(3.1), ev(4.1)], partition: 0 },
    { docs: [ev(1.2), ev(2.2), ev(3.2), ev(4.2)], partition: 1 },
  ];

  it("counts nothing of the partition read second as late", async () => {
    const { out, dlq } = await runPlan(plan, new AssignedSource(steps, [0, 1]));
    expect(dlq.records).toEqual([]);
    expect(out.map((d) => d.n)).toEqual([2, 2, 2, 2]);
  });

  it("without the assignment, the partition read first runs ahead (the behaviour this replaces)", async () => {
    const { out, dlq } = await runPlan(plan, new ScriptedSource(steps));
    expect(dlq.records).toHaveLength(3);
    expect(out.map((d) => d.n)).toEqual([1, 1, 1, 2]);
  });
});

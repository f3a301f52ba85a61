import { describe, expect, it } from "vitest";
import { WatermarkTracker } from "../../src/runtime/watermark.ts";
import { windowStartsFor } from "../../src/runtime/windows/assign.ts";

describe("watermarks", () => {
  it("is max event time − 1 ms for one partition and never goes back", () => {
    const w = new WatermarkTracker(undefined);
    expect(w.current).toBe(-Infinity);
    w.observe(0, 5000, 0);
    w.observe(0, 3000, 0);
    expect(w.current).toBe(4999);
  });

  it("combines partitions by minimum", () => {
    const w = new WatermarkTracker(undefined);
    w.observe("p0", 4000, 0);
    w.observe("p1", 10_000, 0);
    expect(w.current).toBe(3999);
    w.observe("p0", 12_000, 0);
    expect(w.current).toBe(9999);
  });

  it("excludes partitions idle longer than partitionIdleTimeout, and those the source reports idle", () => {
    const w = new WatermarkTracker(30_000);
    w.observe("p0", 1000, 0);
    w.observe("p1", 50_000, 10_000);
    expect(w.current).toBe(999);
    w.refresh(29_999);
    expect(w.current).toBe(999);
    w.refresh(30_000); // p0 silent for 30 s
    expect(w.current).toBe(49_999);

    const reported = new WatermarkTracker(undefined);
    reported.observe(0, 1000, 0);
    reported.observe(1, 9000, 0);
    reported.refresh(0, [0]);
    expect(reported.current).toBe(8999);
  });
});

describe("window assignment", () => {
  it("aligns windows to the epoch plus offset, half-open", () => {
    expect(windowStartsFor(10_000, 5000, 5000, 0)).toEqual([10_000]);
    expect(windowStartsFor(9999, 5000, 5000, 0)).toEqual([5000]);
    expect(windowStartsFor(10_000, 5000, 5000, 1000)).toEqual([6000]);
    expect(windowStartsFor(-1, 5000, 5000, 0)).toEqual([-5000]);
    expect(windowStartsFor(10_500, 3000, 1000, 0)).toEqual([10_000, 9000, 8000]);
    expect(windowStartsFor(3500, 1000, 2000, 0)).toEqual([]); // gap between hops
  });
});

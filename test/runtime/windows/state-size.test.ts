import "../../support/fast-check.ts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CompiledAccumulator, CompiledGroup, Doc } from "../../../src/mql/index.ts";
import type { ProcessorPlan, WindowPlan } from "../../../src/pipeline/plan.ts";
import { isRetryable } from "../../../src/runtime/errors.ts";
import { WatermarkTracker } from "../../../src/runtime/watermark.ts";
import { StateLimitExceededError, WindowStateMismatchError } from "../../../src/runtime/windows/errors.ts";
import { checkStateLimit } from "../../../src/runtime/windows/state-limit.ts";
import { FakeClock } from "../helpers.ts";
import { planWindow, throughEjsonText, WindowDriver, type DriveStep } from "./snapshot-harness.ts";
import { ALL_ACCUMULATORS, streamWithCut, T0 } from "./snapshot-streams.ts";

const seconds = (size: number) => ({ size, unit: "second" });

const PLANS: Record<string, () => ProcessorPlan> = {
  "tumbling $group": () =>
    planWindow({ $tumblingWindow: { interval: seconds(3), pipeline: [{ $group: ALL_ACCUMULATORS }] } }),
  "hopping buffered": () =>
    planWindow({
      $hoppingWindow: {
        interval: seconds(6),
        hopSize: seconds(2),
        allowedLateness: seconds(1),
        pipeline: [{ $sort: { v: 1 } }],
      },
    }),
  session: () =>
    planWindow({
      $sessionWindow: { partitionBy: "$k", gap: seconds(2), pipeline: [{ $group: ALL_ACCUMULATORS }] },
    }),
};

/** A batch far in the future of `steps`: the watermark passes every window's end (+ lateness), nothing joins. */
function farFuture(steps: readonly DriveStep[]): DriveStep {
  let latest = T0;
  for (const step of steps)
    if ("records" in step) for (const r of step.records) latest = Math.max(latest, r.doc.t as number);
  return { records: [{ doc: { t: latest + 3_600_000, k: "x" }, partition: 0 }], advance: 1 };
}

describe("window state size and memory", () => {
  for (const [name, plan] of Object.entries(PLANS)) {
    it(`${name}: incremental stateSize equals a full re-measure, and drops to 0 once every window closed`, () => {
      fc.assert(
        fc.property(streamWithCut({ partitions: 1 }), ({ steps }) => {
          const driver = new WindowDriver(plan(), new FakeClock(1_000_000));
          for (const step of steps) {
            driver.step(step);
            const remeasured = new WindowDriver(plan(), new FakeClock(1_000_000));
            remeasured.runner.restore(driver.runner.snapshot());
            expect(driver.runner.stateSize()).toBe(remeasured.runner.stateSize());
            expect(driver.runner.stateSummary()).toEqual(remeasured.runner.stateSummary());
          }
          // Close everything by the watermark (not flush): the far-future event opens one window of its own.
          driver.step(farFuture(steps));
          driver.step({ records: [{ doc: { t: T0 + 7_200_000 * 2, k: "y" }, partition: 0 }], advance: 1 });
          const left = driver.runner.stateSummary();
          expect(left.openWindows).toBeGreaterThan(0);
          expect(left.entries).toBe(left.openWindows); // only the last event's windows (one entry each) remain
          driver.flush();
          expect(driver.runner.stateSize()).toBe(0);
          expect(driver.runner.stateSummary()).toEqual({ openWindows: 0, entries: 0 });
          expect(driver.runner.snapshot().windows).toEqual([]);
          expect(driver.runner.snapshot().items).toEqual([]);
        }),
        { numRuns: 40 },
      );
    });
  }

  it("stateSize re-measures only the keys that changed since the last call", () => {
    const plan = planWindow({
      $tumblingWindow: {
        interval: seconds(60),
        pipeline: [{ $group: { _id: "$k", all: { $push: "$v" } } }],
      },
    });
    const window = (plan.stages[0] as { window: WindowPlan }).window;
    const group = (window.pipeline[0] as { group: CompiledGroup }).group;
    let measured = 0;
    const [push] = group.accumulators;
    const counting = {
      ...push,
      spec: {
        ...push.spec,
        stateSize: (state: unknown) => {
          measured++;
          return push.spec.stateSize(state);
        },
      },
    };
    (group as { accumulators: readonly CompiledAccumulator[] }).accumulators = [counting];
    const driver = new WindowDriver(plan, new FakeClock());
    const at = (k: number) => ({ doc: { t: T0, k: `k${k}`, v: k }, partition: 0 });
    driver.step({ records: Array.from({ length: 1000 }, (_, k) => at(k)), advance: 1 });
    const full = driver.runner.stateSize();
    expect(measured).toBe(1000);
    measured = 0;
    driver.step({ records: [at(7), at(7), at(8)], advance: 1 });
    expect(driver.runner.stateSize()).toBeGreaterThan(full);
    expect(measured).toBe(2);
    measured = 0;
    driver.runner.stateSize();
    expect(measured).toBe(0);
  });

  it("checkStateLimit throws a permanent StateLimitExceededError that says what to do", () => {
    expect(() => checkStateLimit(10, undefined)).not.toThrow();
    expect(() => checkStateLimit(10, 10)).not.toThrow();
    let error: unknown;
    try {
      checkStateLimit(2048, 1024);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(StateLimitExceededError);
    expect(isRetryable(error)).toBe(false);
    expect((error as Error).message).toBe(
      "window state is 2048 bytes, over the limit of 1024 bytes (maxStateBytes); reduce the number of open " +
        "keys or windows, shorten the window, or raise the limit",
    );
  });

  it("a window with too many open keys goes over maxStateBytes, and is back under once its windows close", () => {
    const driver = new WindowDriver(PLANS["tumbling $group"](), new FakeClock());
    const limit = 200_000;
    let batches = 0;
    expect(() => {
      for (; batches < 1000; batches++) {
        driver.step({
          records: Array.from({ length: 20 }, (_, i) => ({
            doc: { t: T0 + batches, k: `key-${batches}-${i}`, v: i },
            partition: 0,
          })),
          advance: 1,
        });
        checkStateLimit(driver.runner.stateSize(), limit);
      }
    }).toThrow(StateLimitExceededError);
    expect(batches).toBeLessThan(1000);
    expect(driver.runner.stateSize()).toBeGreaterThan(limit);
    driver.step({ records: [{ doc: { t: T0 + 60_000, k: "late" }, partition: 0 }], advance: 1 });
    expect(() => checkStateLimit(driver.runner.stateSize(), limit)).not.toThrow();
  });
});

describe("restoring window state into a different window", () => {
  const driveSome = (plan: ProcessorPlan): Doc => {
    const driver = new WindowDriver(plan, new FakeClock());
    driver.step({ records: [{ doc: { t: T0, k: "a", v: 1 }, partition: 0 }], advance: 1 });
    return throughEjsonText(driver.runner.snapshot());
  };
  const tumbling = (size: number, group: Doc) => () =>
    planWindow({ $tumblingWindow: { interval: seconds(size), pipeline: [{ $group: group }] } });

  it("refuses a changed interval or $group with a permanent error naming resumeFromCheckpoint: false", () => {
    const saved = driveSome(tumbling(3, { _id: "$k", n: { $sum: 1 } })());
    const other = [
      tumbling(4, { _id: "$k", n: { $sum: 1 } }),
      tumbling(3, { _id: "$k", n: { $avg: "$v" } }),
      tumbling(3, { _id: "$k", n: { $sum: 1 }, m: { $max: "$v" } }),
      () => planWindow({ $tumblingWindow: { interval: seconds(3), pipeline: [{ $sort: { v: 1 } }] } }),
      () =>
        planWindow({
          $hoppingWindow: {
            interval: seconds(3),
            hopSize: seconds(1),
            pipeline: [{ $group: { _id: "$k", n: { $sum: 1 } } }],
          },
        }),
    ];
    for (const plan of other) {
      const driver = new WindowDriver(plan(), new FakeClock());
      let error: unknown;
      try {
        driver.runner.restore(saved);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(WindowStateMismatchError);
      expect(isRetryable(error)).toBe(false);
      expect((error as Error).message).toMatch(/resumeFromCheckpoint: false/);
    }
    const same = new WindowDriver(tumbling(3, { _id: "$k", n: { $sum: 1 } })(), new FakeClock());
    same.runner.restore(saved);
    expect(same.runner.stateSummary()).toEqual({ openWindows: 1, entries: 1 });
    expect(() => same.runner.restore(saved)).toThrow(/freshly built/);
  });
});

describe("watermark tracker snapshots", () => {
  it("restores per-partition event times, idle partitions and the combined watermark", () => {
    const tracker = new WatermarkTracker(1000);
    tracker.observe(0, 5000, 0);
    tracker.observe(1, 3000, 0);
    tracker.refresh(10, [1]);
    expect(tracker.current).toBe(4999);
    const restored = new WatermarkTracker(1000);
    restored.restore(throughEjsonText(tracker.snapshot()));
    expect(restored.current).toBe(4999);
    for (const t of [tracker, restored]) t.observe(0, 6000, 20);
    expect(restored.current).toBe(tracker.current);
    expect(restored.snapshot()).toEqual(tracker.snapshot());
  });

  it("with wallNow, a restart is not idleness: partitions count as just seen", () => {
    const tracker = new WatermarkTracker(1000);
    tracker.observe("b", 3000, 0);
    tracker.observe("a", 5000, 0);
    const saved = throughEjsonText(tracker.snapshot());
    const fresh = new WatermarkTracker(1000);
    fresh.restore(saved, { wallNow: 60_000 });
    fresh.observe("a", 9000, 60_001);
    expect(fresh.current).toBe(2999); // "b" is not idle yet: the watermark waits for it
    const stale = new WatermarkTracker(1000);
    stale.restore(saved);
    stale.observe("a", 9000, 60_001);
    expect(stale.current).toBe(8999); // without wallNow, "b" looks idle for the whole downtime
  });
});

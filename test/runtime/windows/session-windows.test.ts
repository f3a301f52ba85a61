import { describe, expect, it } from "vitest";
import { DocumentsSource } from "../../../src/connectors/documents/source.ts";
import { seededRandom } from "../../../src/connectors/sample/solar.ts";
import { compileExpression, type Doc } from "../../../src/mql/index.ts";
import type { WindowStagePlan } from "../../../src/pipeline/plan.ts";
import { documentsPlan, ev, group, runPlan, timeFieldOf, windowStage } from "../helpers.ts";
import { referenceSessions, type RefEvent } from "./reference.ts";

const partitionBy = compileExpression("$k", { path: "partitionBy" });

function sessionPlan(gapMs: number, pipeline: WindowStagePlan[], allowedLatenessMs = 0) {
  return documentsPlan([windowStage({ type: "session", gapMs, partitionBy, allowedLatenessMs, pipeline })], {
    timeField: timeFieldOf("t"),
  });
}

describe("session windows", () => {
  it("matches the reference per partition, merging sessions joined by out-of-order events", async () => {
    const random = seededRandom(7);
    const events: RefEvent[] = [];
    for (let i = 0; i < 300; i++) {
      events.push({
        t: 1_000_000 + Math.floor(random() * 120_000),
        k: `k${Math.floor(random() * 3)}`,
        v: Math.floor(random() * 10),
      });
    }
    const docs = events.map((e) => ({ t: new Date(e.t).toISOString(), k: e.k, v: e.v }));
    // Lateness covers the whole shuffle, so every event joins and the result equals sessions over the sorted events.
    const plan = sessionPlan(2000, [group({ _id: "$k", count: { $sum: 1 }, sum: { $sum: "$v" } })], 200_000);
    const { out } = await runPlan(plan, new DocumentsSource(docs, { batchSize: 13 }));
    const actual = out
      .map((d) => {
        const w = (d._stream_meta as { window: { start: Date; end: Date; partition: unknown } }).window;
        expect(w.partition).toBe(d._id);
        return {
          k: d._id as string,
          start: w.start.getTime(),
          end: w.end.getTime(),
          count: d.count,
          sum: d.sum,
        };
      })
      .sort((a, b) => a.start - b.start || a.k.localeCompare(b.k));
    expect(actual).toEqual(referenceSessions(events, 2000));
  });

  it("merges two sessions when an event bridges them", async () => {
    const plan = sessionPlan(1000, [group({ _id: "$k", n: { $sum: 1 } })], 10_000);
    const { out } = await runPlan(
      plan,
      new DocumentsSource([ev(10, { k: "a" }), ev(11.5, { k: "a" }), ev(10.8, { k: "a" })]),
    );
    expect(out).toHaveLength(1);
    expect(out[0].n).toBe(3);
    expect((out[0]._stream_meta as Doc).window).toEqual({
      start: new Date(10_000),
      end: new Date(12_500),
      partition: "a",
    });
  });

  it("closes a session once the watermark passes last event + gap and dead-letters a later stray event", async () => {
    const plan = sessionPlan(1000, [group({ _id: "$k", n: { $sum: 1 } })]);
    const { out, dlq } = await runPlan(
      plan,
      new DocumentsSource([ev(10, { k: "a" }), ev(10.5, { k: "b" }), ev(20, { k: "a" }), ev(5, { k: "a" })]),
    );
    expect(out.map((d) => [d._id, d.n])).toEqual([
      ["a", 1],
      ["b", 1],
      ["a", 1],
    ]);
    expect(dlq.records.map((r) => r.error)).toEqual(["Input document arrived late."]);
  });
});

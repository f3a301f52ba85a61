// Eddy's MQL against cases harvested from MongoDB's own server tests (and documented examples), each with its
// provenance. MongoDB's answer is the reference; mingo, the second oracle, is checked against it too, and
// the cases where it differs say so (`mingo`). See docs/mql-differences.md.
import { describe, expect, it } from "vitest";
import { Aggregator } from "mingo";
import {
  differenceFromMongo,
  eddyOutcome,
  loadCases,
  type ConformanceCase,
  type Outcome,
} from "./case-file.ts";

const CASES = loadCases(new URL("./mongodb-cases.json", import.meta.url));

function label(c: ConformanceCase): string {
  const what = c.accumulator ? JSON.stringify(c.accumulator) : JSON.stringify(c.expr);
  return `#${c.id} ${c.source.path.split("/").pop() ?? ""}: ${what.length > 90 ? what.slice(0, 87) + "..." : what}`;
}

function mingoOutcome(c: ConformanceCase): Outcome {
  try {
    if (c.accumulator) {
      const [out] = new Aggregator([{ $group: { _id: null, value: c.accumulator } }]).run([
        ...(c.docs ?? []),
      ]) as Array<Record<string, unknown>>;
      return { value: out?.value };
    }
    const [out] = new Aggregator([{ $project: { _id: 0, value: c.expr } }]).run([c.doc ?? {}]) as Array<
      Record<string, unknown>
    >;
    return { value: out?.value };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err), code: undefined };
  }
}

describe("MongoDB conformance cases", () => {
  it("come from several hundred server-test cases, each with its provenance", () => {
    expect(CASES.length).toBeGreaterThan(500);
    for (const c of CASES) {
      expect(c.source.repository).toMatch(/^mongodb\//);
      expect(c.source.path).not.toBe("");
      expect(c.source.commit).not.toBe("");
    }
  });

  describe("Eddy answers as MongoDB does", () => {
    for (const c of CASES) {
      it(label(c), () => {
        const difference = differenceFromMongo(c, eddyOutcome(c));
        if (c.eddy === undefined) expect(difference).toBeUndefined();
        // A documented difference must still be one, or its entry is stale.
        else expect(difference, `case #${c.id} is listed as a known difference: ${c.eddy}`).toBeDefined();
      });
    }
  });

  it("mingo differs from MongoDB exactly where the cases say so", () => {
    const wrong: string[] = [];
    for (const c of CASES) {
      // mingo loops forever on some empty-match regex cases; those are marked and not run.
      if (c.mingo?.includes("does not terminate")) continue;
      const differs = differenceFromMongo(c, mingoOutcome(c)) !== undefined;
      if (differs !== (c.mingo !== undefined))
        wrong.push(`#${c.id} (${differs ? "differs, not marked" : "marked, agrees"})`);
    }
    expect(wrong).toEqual([]);
  });
});

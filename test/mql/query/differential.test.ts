import fc from "fast-check";
import { Query } from "mingo";
import { describe, expect, it } from "vitest";
import { compileQuery } from "../../../src/mql/query/compile.ts";
import { document, filter } from "./arbitraries.ts";
import { KNOWN_MINGO_DIFFERENCES } from "./mingo-differences.ts";

/** mingo's answer, or undefined where mingo itself crashes on a valid filter (a mingo bug, not a verdict). */
function mingoVerdict(q: Record<string, unknown>, doc: Record<string, unknown>): boolean | undefined {
  try {
    return new Query(q).test(doc);
  } catch (error) {
    if (error instanceof TypeError) return undefined;
    throw error;
  }
}

describe("compileQuery agrees with mingo", () => {
  it("on generated filters and documents (outside the documented mingo differences)", () => {
    let compared = 0;
    fc.assert(
      fc.property(filter, document, (q, doc) => {
        if (KNOWN_MINGO_DIFFERENCES.some((d) => d.applies(q, doc))) return;
        const expected = mingoVerdict(q, doc);
        if (expected === undefined) return;
        compared++;
        expect(compileQuery(q)(doc)).toBe(expected);
      }),
      { numRuns: 6000 },
    );
    expect(compared).toBeGreaterThan(2500);
  });

  it("every known difference is exercised by the generators", () => {
    const hits = new Map<string, number>();
    for (const [q, doc] of fc.sample(fc.tuple(filter, document), { numRuns: 4000, seed: 7 })) {
      for (const d of KNOWN_MINGO_DIFFERENCES)
        if (d.applies(q, doc)) hits.set(d.name, (hits.get(d.name) ?? 0) + 1);
    }
    for (const d of KNOWN_MINGO_DIFFERENCES) expect(hits.get(d.name) ?? 0, d.name).toBeGreaterThan(0);
  });
});

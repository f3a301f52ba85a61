import { Decimal } from "decimal.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileExpression } from "../../../src/mql/index.ts";

/** MongoDB's definition: quantize the double's exact decimal value (34 digits), then back to the nearest double. */
function reference(x: number, place: number, mode: Decimal.Rounding): number {
  const D = Decimal.clone({ precision: 60 });
  const exact = new D(x.toPrecision(34));
  return exact.toDecimalPlaces(place, mode).toNumber();
}

describe("$round/$trunc on doubles match exact decimal quantization", () => {
  const round = compileExpression({ $round: ["$x", "$p"] });
  const trunc = compileExpression({ $trunc: ["$x", "$p"] });
  const value = fc.oneof(
    fc.double({ min: -1e9, max: 1e9, noNaN: true }),
    fc.integer({ min: -1_000_000, max: 1_000_000 }).map((i) => i / 1000),
    fc.integer({ min: -100_000, max: 100_000 }).map((i) => i / 200 + 0.005),
    fc.integer({ min: -100_000, max: 100_000 }).map((i) => i / 1000 + 0.0005),
    fc.integer({ min: -100_000, max: 100_000 }).map((i) => (i / 7) * 0.7),
  );

  it("for generated values and places", () => {
    fc.assert(
      fc.property(value, fc.integer({ min: 1, max: 6 }), (x, p) => {
        expect(round({ x, p }, {})).toBe(
          reference(x, p, Decimal.ROUND_HALF_EVEN) || (x < 0 || Object.is(x, -0) ? -0 : 0),
        );
        expect(trunc({ x, p }, {})).toBe(
          reference(x, p, Decimal.ROUND_DOWN) || (x < 0 || Object.is(x, -0) ? -0 : 0),
        );
      }),
      { numRuns: 3000 },
    );
  });

  it("for values sitting on the rounding boundary", () => {
    expect(round({ x: 0.125, p: 2 }, {})).toBe(0.12);
    expect(round({ x: 0.375, p: 2 }, {})).toBe(0.38);
    expect(round({ x: 1.005, p: 2 }, {})).toBe(1); // 1.00499999…
    expect(trunc({ x: 0.29, p: 2 }, {})).toBe(0.28); // 0.28999999…
    expect(trunc({ x: 1.5, p: 1 }, {})).toBe(1.5);
    expect(round({ x: -0.001, p: 2 }, {})).toBe(-0);
  });
});

import { Decimal128, Double, Int32, Long } from "bson";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileQuery } from "../../../src/mql/query/compile.ts";
import { value } from "./arbitraries.ts";

const bsonNumber = fc.oneof(
  fc.integer({ min: -3, max: 3 }).map((n) => Long.fromNumber(n)),
  fc.integer({ min: -3, max: 3 }).map((n) => new Int32(n)),
  fc.constantFrom(-2.5, 0, 1.5, NaN).map((n) => new Double(n)),
  fc.constantFrom("1", "-0.5", "NaN", "2.0", "Infinity").map((s) => Decimal128.fromString(s)),
);
const fieldValue = fc.oneof(value, bsonNumber, fc.array(fc.oneof(value, bsonNumber), { maxLength: 3 }));
const operand = fc.oneof(
  fc.constantFrom(-1, 0, 1, 1.5, 2, "a", "ab", ""),
  fc.double({ noNaN: true }),
  fc.string({ maxLength: 2 }),
);

describe("the fast path for a top-level field against a literal", () => {
  it("agrees with the general path on every value, including bson numbers and arrays", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("$eq", "$gt", "$gte", "$lt", "$lte", "$ne"),
        operand,
        fieldValue,
        (op, rhs, a) => {
          const fast = compileQuery({ a: { [op]: rhs } });
          // Two operators on the field (or $not of $eq) take the general path with the same meaning.
          const general = compileQuery(
            op === "$ne" ? { a: { $not: { $eq: rhs } } } : { a: { [op]: rhs, $exists: true } },
          );
          const doc = a === undefined ? {} : { a };
          expect(fast(doc)).toBe(general(doc));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("agrees with the general path on dotted paths through subdocuments, arrays and other values", () => {
    const container = fc.oneof(
      fieldValue.map((b) => ({ b })),
      fc.array(
        fieldValue.map((b) => ({ b })),
        { maxLength: 2 },
      ),
      fieldValue,
      fc.constant(new Date(0)),
    );
    fc.assert(
      fc.property(
        fc.constantFrom("$eq", "$gt", "$gte", "$lt", "$lte", "$ne"),
        operand,
        container,
        (op, rhs, a) => {
          const fast = compileQuery({ "a.b": { [op]: rhs } });
          const general = compileQuery(
            op === "$ne" ? { "a.b": { $not: { $eq: rhs } } } : { "a.b": { [op]: rhs, $exists: true } },
          );
          const doc = a === undefined ? {} : { a };
          expect(fast(doc)).toBe(general(doc));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("also covers implicit equality with booleans", () => {
    const isTrue = compileQuery({ flag: true });
    expect([
      isTrue({ flag: true }),
      isTrue({ flag: false }),
      isTrue({ flag: [false, true] }),
      isTrue({}),
    ]).toEqual([true, false, true, false]);
  });
});

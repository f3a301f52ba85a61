import fc from "fast-check";
import { Binary, BSONSymbol, Decimal128, Long, MaxKey, MinKey, ObjectId, Timestamp } from "bson";
import { describe, expect, it } from "vitest";
import { valuesEqual } from "../../src/mql/compare.ts";
import { groupKeyOf } from "../../src/mql/group-key.ts";

/** Values whose numeric members collide across representations (1, 1.0, Long(1), Decimal128("1.0")…). */
const base = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0.5, -0.5, 2 ** 53, 1e21, 1e-7, NaN, Infinity, -0),
);
const numeric = base.chain((n) =>
  fc.constantFrom<unknown>(
    n,
    Number.isSafeInteger(n) ? Long.fromNumber(n) : n,
    Number.isNaN(n)
      ? Decimal128.fromString("NaN")
      : Decimal128.fromString(Number.isFinite(n) ? String(n) : n > 0 ? "Infinity" : "-Infinity"),
    Number.isSafeInteger(n) ? Decimal128.fromString(`${n}.00`) : n,
  ),
);
const scalar = fc.oneof(
  numeric,
  // "\u0001…" strings look like the keys of non-strings and must be kept apart from them.
  fc.constantFrom("", "a", "1", "a,b", "z", 'a"', "\u0001", "\u0001n1", "\u0001s", "\u0001sa", "\u0001z"),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    new Date(0),
    new Date(1),
    new ObjectId("000000000000000000000001"),
    new Timestamp({ t: 1, i: 2 }),
  ),
  fc.constantFrom(new MinKey(), new MaxKey(), new Binary(Buffer.from("ab")), /a/i),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { weight: 4, arbitrary: scalar },
    { weight: 1, arbitrary: fc.array(tie("v"), { maxLength: 3 }) },
    {
      weight: 1,
      arbitrary: fc.dictionary(fc.constantFrom("a", "b", "a,b"), tie("v"), {
        maxKeys: 2,
        noNullPrototype: true,
      }),
    },
  ),
})).v;

describe("groupKeyOf", () => {
  it("gives equal keys exactly to values MongoDB compares equal", () => {
    fc.assert(
      fc.property(value, value, (a, b) => {
        expect(groupKeyOf(a) === groupKeyOf(b)).toBe(valuesEqual(a, b));
      }),
      { numRuns: 5000 },
    );
  });

  it("merges numeric representations and null with missing, keeps types apart", () => {
    expect(groupKeyOf(1)).toBe(groupKeyOf(Long.fromNumber(1)));
    expect(groupKeyOf(1)).toBe(groupKeyOf(Decimal128.fromString("1.000")));
    expect(groupKeyOf({ a: [1, 2.5] })).toBe(
      groupKeyOf({ a: [Long.fromNumber(1), Decimal128.fromString("2.50")] }),
    );
    expect(groupKeyOf(-0)).toBe(groupKeyOf(0));
    expect(groupKeyOf(null)).toBe(groupKeyOf(undefined));
    expect(groupKeyOf("1")).not.toBe(groupKeyOf(1));
    expect(groupKeyOf(["a,b"])).not.toBe(groupKeyOf(["a", "b"]));
    expect(groupKeyOf({ a: 1, b: 2 })).not.toBe(groupKeyOf({ b: 2, a: 1 }));
    expect(groupKeyOf(true)).not.toBe(groupKeyOf(1));
  });

  it("keys a string by the string itself, escaping only strings that start with the non-string marker", () => {
    expect(groupKeyOf("dev-17")).toBe("dev-17");
    const markerStrings = ["\u0001", "\u0001n1", "\u0001s", "\u0001sa", "\u0001z", "\u0001[s1:a,]"];
    const others = [1, null, true, ["a"], { a: 1 }, new Date(0), "a", "n1", "s"];
    const keys = [...markerStrings, ...others].map(groupKeyOf);
    expect(new Set(keys).size).toBe(keys.length);
    expect(groupKeyOf(new BSONSymbol("a"))).toBe(groupKeyOf("a"));
    expect(groupKeyOf(new BSONSymbol("\u0001z"))).toBe(groupKeyOf("\u0001z"));
  });
});

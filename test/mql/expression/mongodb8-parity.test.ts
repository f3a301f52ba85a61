// MongoDB 8 behaviours found missing by the comparison with MongoDB's own tests (issue 19).
import { Decimal128, Int32, Long } from "bson";
import { describe, expect, it } from "vitest";
import { run, runtimeError } from "./support.ts";

describe("bitwise operators", () => {
  it("combine ints into an int and any long into a long", () => {
    expect(run({ $bitAnd: [12, 10] })).toBe(8);
    expect(run({ $bitOr: [12, 10, 1] })).toBe(15);
    expect(run({ $bitXor: [12, 10] })).toBe(6);
    expect(run({ $bitNot: 5 })).toBe(-6);
    expect(run({ $bitOr: [Long.fromNumber(1), new Int32(2)] })).toEqual(Long.fromNumber(3));
    expect(run({ $bitNot: Long.fromString("9223372036854775807") })).toEqual(Long.MIN_VALUE);
    expect(run({ $bitAnd: [] })).toBe(-1);
    expect(run({ $bitOr: [] })).toBe(0);
  });

  it("return null for a null or missing operand and reject non-integers with TypeMismatch", () => {
    expect(run({ $bitAnd: [1, "$missing"] })).toBeNull();
    expect(run({ $bitNot: null })).toBeNull();
    for (const bad of [1.5, Decimal128.fromString("12"), "1", [1]]) {
      expect(runtimeError({ $bitOr: [1, { $literal: bad }] }).code).toBe(14);
    }
  });
});

describe("$const", () => {
  it("is $literal", () => {
    expect(run({ $const: "$notAPath" })).toBe("$notAPath");
    expect(run({ $const: { $add: [1, 2] } })).toEqual({ $add: [1, 2] });
  });
});

describe("$toHashedIndexKey", () => {
  it("matches the server's published hashes", () => {
    expect(run({ $toHashedIndexKey: new Int32(42) })).toEqual(Long.fromString("-944302157085130861"));
    expect(run({ $toHashedIndexKey: "string to hash" })).toEqual(Long.fromString("763543691661428748"));
  });

  it("squashes numbers to int64 and hashes missing as null", () => {
    expect(run({ $toHashedIndexKey: 42.7 })).toEqual(run({ $toHashedIndexKey: Long.fromNumber(42) }));
    expect(run({ $toHashedIndexKey: "$missing" })).toEqual(run({ $toHashedIndexKey: null }));
    expect(run({ $toHashedIndexKey: { a: 1 } })).not.toEqual(run({ $toHashedIndexKey: { b: 1 } }));
    expect(run({ $toHashedIndexKey: { $literal: [1, 2] } })).not.toEqual(
      run({ $toHashedIndexKey: { $literal: [2, 1] } }),
    );
  });
});

describe("date operators return null for a null argument before checking the others", () => {
  it("$dateDiff, $dateTrunc, $dateAdd, $dateSubtract", () => {
    expect(run({ $dateDiff: { startDate: "not a date", endDate: null, unit: "day" } })).toBeNull();
    expect(run({ $dateDiff: { startDate: 5, endDate: new Date(0), unit: "$missing" } })).toBeNull();
    expect(run({ $dateTrunc: { date: "x", unit: "$missing" } })).toBeNull();
    expect(run({ $dateTrunc: { date: new Date(0), unit: "day", binSize: null } })).toBeNull();
    expect(run({ $dateAdd: { startDate: "x", unit: "day", amount: null } })).toBeNull();
    expect(run({ $dateSubtract: { startDate: new Date(0), unit: "$u", amount: "bad" } })).toBeNull();
    expect(runtimeError({ $dateDiff: { startDate: "x", endDate: new Date(0), unit: "day" } }).code).toBe(
      5166307,
    );
  });
});

describe("64-bit overflow", () => {
  it("$round/$trunc of a long fails with 51080 instead of wrapping", () => {
    expect(runtimeError({ $round: [Long.fromString("9223372036854775806"), -1] }).code).toBe(51080);
    expect(runtimeError({ $round: [Long.MAX_VALUE, -1] }).code).toBe(51080);
    // Truncation never grows a value: no overflow.
    expect(run({ $trunc: [Long.MAX_VALUE, -1] })).toEqual(Long.fromString("9223372036854775800"));
  });

  it("int and long arithmetic widens exactly (int ⇒ long ⇒ double)", () => {
    expect(run({ $multiply: [new Int32(2e9), new Int32(-2e9)] })).toEqual(
      Long.fromString("-4000000000000000000"),
    );
    expect(run({ $multiply: [3037000499, 3037000499] })).toEqual(Long.fromString("9223372030926249001"));
    expect(run({ $multiply: [3037000500, 3037000500] })).toBe(9223372037000250000); // beyond int64: a double
    expect(
      run({ $add: [Long.fromString("9000000000000000000"), Long.fromString("9000000000000000000")] }),
    ).toBe(1.8e19);
    expect(runtimeError({ $abs: Long.MIN_VALUE }).code).toBe(28680);
  });
});

describe("$convert, $zip and n", () => {
  it("$convert uses onError for a 'to' that names no type at run time", () => {
    expect(run({ $convert: { input: 1, to: "$t", onError: "bad" } }, { t: "missing" })).toBe("bad");
    expect(runtimeError({ $convert: { input: 1, to: "$t" } }, { t: "nope" }).message).toBe(
      "Unknown type name: nope",
    );
  });

  it("$zip needs at least one input", () => {
    expect(() => run({ $zip: { inputs: [] } })).toThrow("$zip requires at least one input array");
  });

  it("the n-family accepts any positive 64-bit n", () => {
    expect(run({ $firstN: { n: Long.fromString("9223372036854775807"), input: [1, 2, 3] } })).toEqual([
      1, 2, 3,
    ]);
    expect(run({ $maxN: { n: 3e9, input: [1, 3, 2] } })).toEqual([3, 2, 1]);
    expect(runtimeError({ $lastN: { n: 0, input: [1] } }).code).toBe(5787902);
  });
});

describe("regex operators", () => {
  it("report no empty match at the end of the input", () => {
    expect(run({ $regexFindAll: { input: "ab", regex: "x*" } })).toEqual([
      { match: "", idx: 0, captures: [] },
      { match: "", idx: 1, captures: [] },
    ]);
    expect(run({ $regexFindAll: { input: "", regex: "" } })).toEqual([{ match: "", idx: 0, captures: [] }]);
  });

  it("treat missing input or regex as null and accept the u option", () => {
    expect(run({ $regexFindAll: { input: "abc" } })).toEqual([]);
    expect(run({ $regexFind: {} })).toBeNull();
    expect(run({ $regexMatch: { input: "ÉA", regex: "éa", options: "iu" } })).toBe(true);
  });

  it("refuse options in both places, even an empty options string, and a g flag", () => {
    const regex = { $literal: new RegExp("a", "m") };
    expect(runtimeError({ $regexMatch: { input: "a", regex: "$r", options: "" } }, { r: /a/m }).code).toBe(
      51107,
    );
    expect(() => run({ $regexMatch: { input: "a", regex, options: "" } })).toThrow("specified in both");
    expect(
      runtimeError(
        { $regexMatch: { input: "a", regex: "$r" } },
        { r: { _bsontype: "BSONRegExp", pattern: "a", options: "g" } },
      ).code,
    ).toBe(51108);
  });
});

describe("$dateFromString zones", () => {
  const parse = (dateString: string, format?: string): unknown =>
    run({ $dateFromString: format ? { dateString, format } : { dateString } });

  it("reads abbreviations, military letters and GMT offsets, with or without a format", () => {
    expect(parse("2017-07-14T12:02:44.771 CEST")).toEqual(new Date("2017-07-14T10:02:44.771Z"));
    expect(parse("2017-07-14T12:02:44.771 P", "%Y-%m-%dT%H:%M:%S.%L%z")).toEqual(
      new Date("2017-07-14T15:02:44.771Z"),
    );
    expect(parse("2017-07-04 12:48:07 GMT+0545")).toEqual(new Date("2017-07-04T07:03:07Z"));
    expect(
      runtimeError({ $dateFromString: { dateString: "2017-07-12T22:23:55 Europe/Amsterdam" } }).message,
    ).toContain("passing a time zone identifier as part of the string is not allowed");
  });

  it("refuses mixing ISO-week and calendar parts", () => {
    expect(
      runtimeError({ $dateFromString: { dateString: "12/31/2018", format: "%m/%d/%G" } }).message,
    ).toContain("Mixing of ISO dates with natural dates is not allowed");
  });
});

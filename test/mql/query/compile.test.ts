import { Binary, BSONRegExp, Decimal128, Double, Int32, Long, MaxKey, MinKey } from "bson";
import { describe, expect, it } from "vitest";
import { MqlCompileError } from "../../../src/mql/errors.ts";
import { compileQuery } from "../../../src/mql/query/compile.ts";
import type { Doc } from "../../../src/mql/types.ts";

function matches(filter: unknown, doc: Doc): boolean {
  return compileQuery(filter)(doc);
}

function compileError(filter: unknown): string {
  try {
    compileQuery(filter, { path: "pipeline[1].$match" });
  } catch (error) {
    expect(error).toBeInstanceOf(MqlCompileError);
    return (error as Error).message;
  }
  throw new Error("expected a compile error");
}

describe("paths through arrays", () => {
  it.each([
    [{ "a.b": 1 }, { a: [{ b: [1] }] }, true],
    [{ "a.b": 1 }, { a: [{ b: 2 }, { b: 1 }] }, true],
    [{ "a.b": 1 }, { a: [[{ b: 1 }]] }, false], // nested arrays are not entered implicitly
    [{ "a.b.c": 1 }, { a: [{ b: [{ c: 1 }] }] }, true],
    [{ "a.0": 5 }, { a: [5, 6] }, true],
    [{ "a.1": 5 }, { a: [5, 6] }, false],
    [{ "a.0.b": 1 }, { a: [{ b: 1 }] }, true],
    [{ "a.0": 5 }, { a: [{ "0": 5 }] }, true], // a numeric component is also a field name
    [{ "a.0.b": 1 }, { a: [[{ b: 1 }]] }, true], // an index enters the nested array
    [{ "a.0": 1 }, { a: [[1]] }, false], // the element at an index is not traversed
    [{ "a.0": [1] }, { a: [[1]] }, true],
    [{ a: 1 }, { a: [[1]] }, false],
    [{ a: [1] }, { a: [[1]] }, true],
    [{ a: [1, 2] }, { a: [1, 2] }, true],
    [{ a: [2, 1] }, { a: [1, 2] }, false],
    [{ a: { b: 1 } }, { a: { b: 1 } }, true],
    [{ a: { b: 1 } }, { a: { b: 1, c: 2 } }, false],
    [{ a: { b: 1, c: 2 } }, { a: { c: 2, b: 1 } }, false], // field order matters
    [{ "a.b": 2 }, { a: { b: [1, 2] } }, true],
  ])("%j on %j → %s", (filter, doc, expected) => {
    expect(matches(filter, doc)).toBe(expected);
  });
});

describe("null versus missing", () => {
  it.each([
    [{ a: null }, {}, true],
    [{ a: null }, { a: null }, true],
    [{ a: null }, { a: [1, null] }, true],
    [{ a: null }, { a: [] }, false],
    [{ a: null }, { a: 0 }, false],
    [{ "a.b": null }, { a: 5 }, true], // a scalar on the way yields missing
    [{ "a.b": null }, { a: [{ c: 1 }] }, true], // a document element without b yields missing
    [{ "a.b": null }, { a: [1, { b: 2 }] }, false], // scalar elements yield nothing
    [{ "a.b": null }, { a: [1, 2] }, false],
    [{ a: { $exists: false } }, {}, true],
    [{ a: { $exists: false } }, { a: null }, false],
    [{ "a.b": { $exists: false } }, { a: [1, 2] }, true],
    [{ "a.b": { $exists: true } }, { a: [{ b: null }] }, true],
    [{ a: { $ne: null } }, { a: [1, null] }, false],
    [{ a: { $ne: null } }, { a: 1 }, true],
    [{ a: { $ne: null } }, {}, false],
    [{ a: { $gte: null } }, {}, true],
    [{ a: { $lte: null } }, { a: null }, true],
    [{ a: { $gt: null } }, { a: null }, false],
    [{ a: { $lt: null } }, {}, false],
    [{ a: { $in: [null] } }, {}, true],
    [{ a: { $nin: [null] } }, {}, false],
    [{ a: { $in: [1] } }, {}, false],
  ])("%j on %j → %s", (filter, doc, expected) => {
    expect(matches(filter, doc)).toBe(expected);
  });
});

describe("comparison and BSON type order", () => {
  it("brackets by type: numbers never match string bounds and vice versa", () => {
    expect(matches({ a: { $gt: 5 } }, { a: "z" })).toBe(false);
    expect(matches({ a: { $lt: "a" } }, { a: 1 })).toBe(false);
    expect(matches({ a: { $gt: 5 } }, { a: [1, 6] })).toBe(true);
    expect(matches({ a: { $gt: 5, $lt: 7 } }, { a: [1, 8] })).toBe(true); // each bound by some element
    expect(matches({ a: { $gt: new Date(0) } }, { a: 1 })).toBe(false);
  });

  it("compares dates by time and never with other types", () => {
    const since = compileQuery({ ts: { $gte: new Date("2024-01-01T00:00:00Z") } });
    expect(since({ ts: new Date("2024-01-01T00:00:00Z") })).toBe(true);
    expect(since({ ts: new Date("2023-12-31T23:59:59Z") })).toBe(false);
    expect(since({ ts: Date.parse("2024-06-01T00:00:00Z") })).toBe(false);
    expect(since({ ts: "2024-06-01" })).toBe(false);
    expect(matches({ ts: new Date(5) }, { ts: new Date(5) })).toBe(true);
  });

  it("compares Long, Int32, Double and Decimal128 exactly with JS numbers", () => {
    expect(matches({ a: 5 }, { a: Long.fromNumber(5) })).toBe(true);
    expect(matches({ a: 5 }, { a: new Int32(5) })).toBe(true);
    expect(matches({ a: 5 }, { a: new Double(5) })).toBe(true);
    expect(matches({ a: 5 }, { a: Decimal128.fromString("5.0") })).toBe(true);
    expect(matches({ a: { $gt: 9007199254740992 } }, { a: Long.fromString("9007199254740993") })).toBe(true);
    expect(matches({ a: { $lt: Decimal128.fromString("0.3") } }, { a: 0.1 + 0.2 })).toBe(false);
    expect(matches({ a: { $in: [Long.fromNumber(2)] } }, { a: 2 })).toBe(true);
    expect(matches({ a: { $in: [2] } }, { a: Decimal128.fromString("2") })).toBe(true);
  });

  it("treats NaN as equal to NaN and unordered otherwise", () => {
    expect(matches({ a: NaN }, { a: NaN })).toBe(true);
    expect(matches({ a: { $lt: 5 } }, { a: NaN })).toBe(false);
    expect(matches({ a: { $gte: NaN } }, { a: NaN })).toBe(true);
    expect(matches({ a: { $gt: NaN } }, { a: 1 })).toBe(false);
    expect(matches({ a: { $lt: 5 } }, { a: Decimal128.fromString("NaN") })).toBe(false);
    expect(matches({ a: { $ne: 5 } }, { a: NaN })).toBe(true);
  });

  it("puts MinKey below and MaxKey above every value, including missing", () => {
    expect(matches({ a: { $lt: new MaxKey() } }, { a: "x" })).toBe(true);
    expect(matches({ a: { $lt: new MaxKey() } }, {})).toBe(true);
    expect(matches({ a: { $gt: new MinKey() } }, { a: null })).toBe(true);
    expect(matches({ a: { $gt: new MaxKey() } }, { a: 1 })).toBe(false);
    expect(matches({ a: new MinKey() }, { a: new MinKey() })).toBe(true);
  });

  it("takes the fast path for plain numbers and strings without changing the semantics", () => {
    const gt = compileQuery({ price: { $gt: 5 } });
    expect([gt({ price: 6 }), gt({ price: 5 }), gt({ price: "6" }), gt({ price: [1, 9] }), gt({})]).toEqual([
      true,
      false,
      false,
      true,
      false,
    ]);
    const eq = compileQuery({ status: "open" });
    expect([eq({ status: "open" }), eq({ status: ["x", "open"] }), eq({ status: "Open" })]).toEqual([
      true,
      true,
      false,
    ]);
    const ne = compileQuery({ n: { $ne: 1 } });
    expect([ne({ n: 1 }), ne({ n: 2 }), ne({ n: [1] }), ne({})]).toEqual([false, true, false, true]);
    expect(compileQuery({ constructor: 1 })({})).toBe(false);
  });
});

describe("regular expressions", () => {
  it("matches strings through implicit regexes, $regex, $in and $not", () => {
    expect(matches({ a: /^ab/ }, { a: "abc" })).toBe(true);
    expect(matches({ a: /^ab/ }, { a: ["x", "abc"] })).toBe(true);
    expect(matches({ a: { $regex: "^AB", $options: "i" } }, { a: "abc" })).toBe(true);
    expect(matches({ a: { $regex: /^a.c$/s } }, { a: "a\nc" })).toBe(true);
    expect(matches({ a: { $regex: "^b$", $options: "m" } }, { a: "a\nb" })).toBe(true);
    expect(matches({ a: { $regex: "a b # comment", $options: "x" } }, { a: "ab" })).toBe(true);
    expect(matches({ a: { $regex: new BSONRegExp("^x", "i") } }, { a: "Xy" })).toBe(true);
    expect(matches({ a: { $in: [/^z/, 1] } }, { a: "zz" })).toBe(true);
    expect(matches({ a: { $nin: [/^z/] } }, { a: "zz" })).toBe(false);
    expect(matches({ a: { $not: /^z/ } }, { a: "y" })).toBe(true);
    expect(matches({ a: /1/ }, { a: 1 })).toBe(false);
  });

  it("matches code points like PCRE's UTF-8 mode and accepts PCRE's lenient escapes", () => {
    expect(matches({ a: { $regex: "^.$" } }, { a: "😀" })).toBe(true);
    expect(matches({ a: { $regex: "^é$", $options: "i" } }, { a: "É" })).toBe(true);
    expect(matches({ a: { $regex: "a\\_b" } }, { a: "a_b" })).toBe(true);
  });

  it("matches a stored regex with the same pattern and options", () => {
    expect(matches({ a: /x/i }, { a: /x/i })).toBe(true);
    expect(matches({ a: /x/i }, { a: /x/ })).toBe(false);
    expect(matches({ a: { $eq: /x/ } }, { a: "x" })).toBe(false);
  });

  it("rejects bad options and invalid patterns", () => {
    expect(compileError({ a: { $regex: "x", $options: "g" } })).toBe(
      "pipeline[1].$match.a.$regex: invalid flag in regex options: g",
    );
    expect(compileError({ a: { $regex: "(" } })).toMatch(
      /^pipeline\[1\]\.\$match\.a\.\$regex: Regular expression is invalid/,
    );
    expect(compileError({ a: { $options: "i" } })).toBe(
      "pipeline[1].$match.a.$options: $options needs a $regex",
    );
    expect(compileError({ a: { $ne: /x/ } })).toBe(
      "pipeline[1].$match.a.$ne: Can't have regex as arg to $ne",
    );
  });
});

describe("element operators", () => {
  it("$type accepts names, the number alias, codes and arrays", () => {
    expect(matches({ a: { $type: "string" } }, { a: "x" })).toBe(true);
    expect(matches({ a: { $type: 2 } }, { a: "x" })).toBe(true);
    expect(matches({ a: { $type: "number" } }, { a: Decimal128.fromString("1") })).toBe(true);
    expect(matches({ a: { $type: "number" } }, { a: NaN })).toBe(true);
    expect(matches({ a: { $type: ["bool", "null"] } }, { a: null })).toBe(true);
    expect(matches({ a: { $type: "long" } }, { a: Long.fromNumber(1) })).toBe(true);
    expect(matches({ a: { $type: "binData" } }, { a: new Binary(Buffer.from("x")) })).toBe(true);
    expect(matches({ a: { $type: "null" } }, {})).toBe(false);
  });

  it("$type array matches array values, including arrays nested in arrays", () => {
    expect(matches({ a: { $type: "array" } }, { a: [] })).toBe(true);
    expect(matches({ a: { $type: "array" } }, { a: [[1]] })).toBe(true);
    expect(matches({ a: { $type: "array" } }, { a: 1 })).toBe(false);
    expect(matches({ a: { $type: "string" } }, { a: [1, "x"] })).toBe(true);
  });

  it("rejects unknown type names and codes", () => {
    expect(compileError({ a: { $type: "strin" } })).toBe(
      "pipeline[1].$match.a.$type: Unknown type name alias: strin",
    );
    expect(compileError({ a: { $type: 42 } })).toBe(
      "pipeline[1].$match.a.$type: Invalid numerical type code: 42",
    );
    expect(compileError({ a: { $type: [] } })).toBe(
      "pipeline[1].$match.a.$type: $type must match at least one type",
    );
  });
});

describe("evaluation operators", () => {
  it("$mod truncates doubles and matches only numbers", () => {
    expect(matches({ a: { $mod: [4, 1] } }, { a: 5 })).toBe(true);
    expect(matches({ a: { $mod: [4, 1] } }, { a: 5.9 })).toBe(true);
    expect(matches({ a: { $mod: [4, -1] } }, { a: -5 })).toBe(true);
    expect(matches({ a: { $mod: [4, 1] } }, { a: "5" })).toBe(false);
    expect(matches({ a: { $mod: [4, 1] } }, { a: Infinity })).toBe(false);
    expect(matches({ a: { $mod: [4, 1] } }, { a: Long.fromString("9223372036854775805") })).toBe(true);
    expect(matches({ a: { $mod: [4, 1] } }, { a: Decimal128.fromString("9.5") })).toBe(true);
  });

  it("$mod argument errors", () => {
    expect(compileError({ a: { $mod: 4 } })).toBe(
      "pipeline[1].$match.a.$mod: malformed mod, needs to be an array",
    );
    expect(compileError({ a: { $mod: [4] } })).toBe(
      "pipeline[1].$match.a.$mod: malformed mod, not enough elements",
    );
    expect(compileError({ a: { $mod: [4, 1, 2] } })).toBe(
      "pipeline[1].$match.a.$mod: malformed mod, too many elements",
    );
    expect(compileError({ a: { $mod: ["4", 1] } })).toBe(
      "pipeline[1].$match.a.$mod: malformed mod, divisor not a number",
    );
    expect(compileError({ a: { $mod: [0, 1] } })).toBe("pipeline[1].$match.a.$mod: divisor cannot be 0");
  });

  it("$expr uses aggregation truthiness and sees $$variables", () => {
    expect(matches({ $expr: "$a" }, { a: 0 })).toBe(false);
    expect(matches({ $expr: "$a" }, { a: Long.fromNumber(0) })).toBe(false);
    expect(matches({ $expr: "$a" }, { a: Decimal128.fromString("0.00") })).toBe(false);
    expect(matches({ $expr: "$a" }, { a: null })).toBe(false);
    expect(matches({ $expr: "$a" }, {})).toBe(false);
    expect(matches({ $expr: "$a" }, { a: "" })).toBe(true);
    expect(matches({ $expr: "$a" }, { a: [] })).toBe(true);
    const withVar = compileQuery({ $expr: "$$flag" }, { variables: ["flag"] });
    expect(withVar({}, { flag: true })).toBe(true);
    expect(withVar({}, { flag: false })).toBe(false);
    expect(compileError({ $expr: "$$nope" })).toMatch(
      /^pipeline\[1\]\.\$match\.\$expr: Use of undefined variable: nope/,
    );
  });
});

describe("array operators", () => {
  it("$elemMatch value form applies every operator to one element, without entering nested arrays", () => {
    expect(matches({ a: { $elemMatch: { $gt: 1, $lt: 3 } } }, { a: [0, 2] })).toBe(true);
    expect(matches({ a: { $elemMatch: { $gt: 1, $lt: 3 } } }, { a: [0, 5] })).toBe(false);
    expect(matches({ a: { $gt: 1, $lt: 3 } }, { a: [0, 5] })).toBe(true);
    expect(matches({ a: { $elemMatch: { $eq: 1 } } }, { a: [[1]] })).toBe(false);
    expect(matches({ a: { $elemMatch: { $ne: 1 } } }, { a: [1, 2] })).toBe(true);
    expect(matches({ a: { $elemMatch: { $gt: 0 } } }, { a: 1 })).toBe(false);
  });

  it("$elemMatch document form matches one element against the whole sub-filter", () => {
    const doc = {
      a: [
        { b: 1, c: 2 },
        { b: 2, c: 1 },
      ],
    };
    expect(matches({ a: { $elemMatch: { b: 1, c: 1 } } }, doc)).toBe(false);
    expect(matches({ "a.b": 1, "a.c": 1 }, doc)).toBe(true);
    expect(matches({ a: { $elemMatch: { b: 2, c: 1 } } }, doc)).toBe(true);
    expect(matches({ a: { $elemMatch: { $or: [{ b: 5 }, { c: 2 }] } } }, doc)).toBe(true);
    expect(matches({ "x.a": { $elemMatch: { b: 1 } } }, { x: [{ a: [{ b: 1 }] }] })).toBe(true);
    expect(compileError({ a: { $elemMatch: { $expr: true } } })).toBe(
      "pipeline[1].$match.a.$elemMatch.$expr: $expr can only be applied to the top-level document",
    );
  });

  it("$all is an $and of equalities, and of $elemMatch clauses", () => {
    expect(matches({ a: { $all: [1, 2] } }, { a: [2, 3, 1] })).toBe(true);
    expect(matches({ a: { $all: [1, 2] } }, { a: [1] })).toBe(false);
    expect(matches({ a: { $all: [1] } }, { a: 1 })).toBe(true);
    expect(matches({ a: { $all: [] } }, { a: [] })).toBe(false);
    expect(matches({ a: { $all: [[1, 2]] } }, { a: [[1, 2], 3] })).toBe(true);
    expect(matches({ a: { $all: [/^x/, "yy"] } }, { a: ["xa", "yy"] })).toBe(true);
    const both = { a: { $all: [{ $elemMatch: { b: 1 } }, { $elemMatch: { c: 2 } }] } };
    expect(matches(both, { a: [{ b: 1 }, { c: 2 }] })).toBe(true);
    expect(matches(both, { a: [{ b: 1 }] })).toBe(false);
    expect(compileError({ a: { $all: 1 } })).toBe("pipeline[1].$match.a.$all: $all needs an array");
  });

  it("$size matches the array's own length", () => {
    expect(matches({ a: { $size: 2 } }, { a: [1, [2, 3]] })).toBe(true);
    expect(matches({ a: { $size: 1 } }, { a: [[1, 2]] })).toBe(true);
    expect(matches({ a: { $size: 0 } }, {})).toBe(false);
    expect(matches({ "a.b": { $size: 1 } }, { a: [{ b: [1] }] })).toBe(true);
    expect(compileError({ a: { $size: -1 } })).toBe("pipeline[1].$match.a.$size: $size may not be negative");
    expect(compileError({ a: { $size: 1.5 } })).toBe(
      "pipeline[1].$match.a.$size: $size must be a whole number",
    );
    expect(compileError({ a: { $size: "1" } })).toBe("pipeline[1].$match.a.$size: $size needs a number");
  });
});

describe("bitwise operators", () => {
  it("tests bits of integral numbers and BinData", () => {
    expect(matches({ a: { $bitsAllSet: 5 } }, { a: 7 })).toBe(true);
    expect(matches({ a: { $bitsAllSet: [0, 1] } }, { a: 5 })).toBe(false);
    expect(matches({ a: { $bitsAnySet: [1] } }, { a: 6 })).toBe(true);
    expect(matches({ a: { $bitsAllClear: [0] } }, { a: 6 })).toBe(true);
    expect(matches({ a: { $bitsAnyClear: [0, 1] } }, { a: 3 })).toBe(false);
    expect(matches({ a: { $bitsAllSet: [70] } }, { a: -1 })).toBe(true);
    expect(matches({ a: { $bitsAllSet: 1 } }, { a: 1.5 })).toBe(false);
    expect(matches({ a: { $bitsAllSet: [9] } }, { a: new Binary(Buffer.from([0, 2])) })).toBe(true);
  });
});

describe("logical operators and compile errors", () => {
  it("combines with $and, $or, $nor and $not", () => {
    expect(matches({ $or: [{ a: 1 }, { b: 2 }] }, { b: 2 })).toBe(true);
    expect(matches({ $and: [{ a: 1 }, { b: 2 }] }, { a: 1 })).toBe(false);
    expect(matches({ $nor: [{ a: 1 }, { b: 2 }] }, { c: 1 })).toBe(true);
    expect(matches({ a: { $not: { $gt: 5 } } }, {})).toBe(true);
    expect(matches({ a: { $not: { $gt: 5 } } }, { a: [1, 6] })).toBe(false);
    expect(matches({ $comment: "why", a: 1 }, { a: 1 })).toBe(true);
    expect(matches({}, { a: 1 })).toBe(true);
  });

  it("names the path of every bad operator and argument", () => {
    expect(compileError({ price: { $gtx: 1 } })).toBe(
      "pipeline[1].$match.price.$gtx: unknown operator '$gtx'",
    );
    expect(compileError({ $or: [{ a: 1 }, { b: { $foo: 1 } }] })).toBe(
      "pipeline[1].$match.$or[1].b.$foo: unknown operator '$foo'",
    );
    expect(compileError({ $foo: 1 })).toBe("pipeline[1].$match.$foo: unknown top level operator '$foo'");
    expect(compileError({ a: { $in: 1 } })).toBe("pipeline[1].$match.a.$in: $in needs an array");
    expect(compileError({ a: { $in: [{ $gt: 1 }] } })).toBe(
      "pipeline[1].$match.a.$in[0]: cannot nest $ under $in",
    );
    expect(compileError({ $or: [] })).toBe("pipeline[1].$match.$or: $or must be a nonempty array");
    expect(compileError({ a: { $not: {} } })).toBe("pipeline[1].$match.a.$not: $not cannot be empty");
    expect(compileError({ a: { $not: 1 } })).toBe(
      "pipeline[1].$match.a.$not: $not needs a regex or a document",
    );
  });

  it("starts messages at the field when no path prefix is given", () => {
    expect(() => compileQuery({ price: { $gtx: 1 } })).toThrow(
      new MqlCompileError("price.$gtx", "unknown operator '$gtx'"),
    );
    expect(() => compileQuery({ a: { $comment: "x" } })).toThrow("a.$comment: unknown operator '$comment'");
  });

  it("rejects $where, $text and geospatial operators", () => {
    expect(compileError({ $text: { $search: "x" } })).toBe(
      "pipeline[1].$match.$text: Cannot use $text in $match stage in Atlas Stream Processing.",
    );
    expect(compileError({ $where: "true" })).toMatch(/^pipeline\[1\]\.\$match\.\$where: /);
    expect(compileError({ loc: { $near: [0, 0] } })).toBe(
      "pipeline[1].$match.loc.$near: geospatial operator '$near' is not supported",
    );
    expect(compileError({ loc: { $nearSphere: [0, 0] } })).toMatch(
      /^pipeline\[1\]\.\$match\.loc\.\$nearSphere: /,
    );
  });
});

import { Decimal128, Double, Int32, Long } from "bson";
import { describe, expect, it } from "vitest";
import { compileExpression, MqlCompileError } from "../../../src/mql/index.ts";
import { run, runtimeError } from "./support.ts";

const dec = (s: string): Decimal128 => Decimal128.fromString(s);

describe("$add", () => {
  it("adds numbers and propagates null/missing", () => {
    expect(run({ $add: [1, 2, "$a"] }, { a: 3 })).toBe(6);
    expect(run({ $add: [] })).toBe(0);
    expect(run({ $add: [1, "$missing"] })).toBeNull();
    expect(run({ $add: [null, "x"] })).toBeNull();
  });

  it("adds milliseconds to one date, rounding each number", () => {
    expect(run({ $add: [new Date(1000), 1, 2.5] })).toEqual(new Date(1004));
    expect(run({ $add: [-1.5, "$d"] }, { d: new Date(0) })).toEqual(new Date(-2));
    const err = runtimeError({ $add: [new Date(0), new Date(1)] });
    expect(err.message).toBe("only one date allowed in an $add expression");
  });

  it("widens to Long and Decimal128 and keeps NaN/Infinity", () => {
    const sum = run({ $add: [Long.fromString("9007199254740993"), 1] });
    expect(sum).toEqual(Long.fromString("9007199254740994"));
    expect(String(run({ $add: [dec("0.1"), 0.2, new Int32(1)] }))).toBe("1.3");
    expect(run({ $add: [NaN, 1] })).toBeNaN();
    expect(run({ $add: [Infinity, 1] })).toBe(Infinity);
    expect(run({ $add: [new Double(1.5), 1] })).toBe(2.5);
  });

  it("names the operator and path in type errors", () => {
    const err = runtimeError({ $add: ["$a", 1] }, { a: "x" });
    expect(err.message).toBe("$add only supports numeric or date types, not string");
    expect(err.operator).toBe("$add");
    expect(err.path).toBe("e.$add");
    expect(err.code).toBe(16554);
  });
});

describe("$subtract", () => {
  it("subtracts numbers and dates", () => {
    expect(run({ $subtract: [5, 7] })).toBe(-2);
    expect(run({ $subtract: [new Date(5000), new Date(1000)] })).toBe(4000);
    expect(run({ $subtract: [new Date(5000), 1000] })).toEqual(new Date(4000));
    expect(run({ $subtract: ["$missing", 1] })).toBeNull();
    expect(run({ $subtract: [Long.MIN_VALUE, 1] })).toBe(-9223372036854775808);
  });

  it("rejects a date subtracted from a number", () => {
    expect(runtimeError({ $subtract: [1, new Date(0)] }).message).toBe("can't $subtract date from int");
    expect(runtimeError({ $subtract: [new Date(0), "x"] }).message).toBe("can't $subtract string from date");
  });
});

describe("$multiply, $divide, $mod", () => {
  it("multiplies, checking operands left to right", () => {
    expect(run({ $multiply: [2, 3, 4] })).toBe(24);
    expect(run({ $multiply: [] })).toBe(1);
    expect(run({ $multiply: [null, "x"] })).toBeNull();
    expect(runtimeError({ $multiply: ["x", null] }).message).toBe(
      "$multiply only supports numeric types, not string",
    );
    expect(String(run({ $multiply: [dec("1.5"), Long.fromNumber(2)] }))).toBe("3");
  });

  it("divides to a double or decimal and rejects zero", () => {
    expect(run({ $divide: [1, 4] })).toBe(0.25);
    expect(run({ $divide: [Long.fromNumber(7), 2] })).toBe(3.5);
    expect(String(run({ $divide: [dec("1"), 8] }))).toBe("0.125");
    expect(run({ $divide: [null, "x"] })).toBeNull();
    expect(runtimeError({ $divide: ["$a", 0] }, { a: 1 }).message).toBe("can't $divide by zero");
    expect(runtimeError({ $divide: [1, dec("0")] }).message).toBe("can't $divide by zero");
    expect(runtimeError({ $divide: ["a", 1] }).message).toBe(
      "$divide only supports numeric types, not string and int",
    );
  });

  it("takes the remainder with the dividend's sign", () => {
    expect(run({ $mod: [-7, 3] })).toBe(-1);
    expect(run({ $mod: [7.5, 2] })).toBe(1.5);
    expect(run({ $mod: [Long.fromNumber(10), 3] })).toEqual(Long.fromNumber(1));
    expect(String(run({ $mod: [dec("7.5"), 2] }))).toBe("1.5");
    expect(runtimeError({ $mod: [1, 0] }).message).toBe("can't $mod by zero");
  });

  it("checks arity at compile time with the path", () => {
    expect(() => run({ $divide: [1, 2, 3] })).toThrow(
      new MqlCompileError("e.$divide", "expects 2 arguments, got 3"),
    );
    expect(() => run({ $abs: [1, 2] })).toThrow("e.$abs: expects 1 argument, got 2");
  });
});

describe("single-argument math", () => {
  it("$abs, $ceil, $floor keep integer types", () => {
    expect(run({ $abs: -5 })).toBe(5);
    expect(run({ $abs: Long.fromNumber(-5) })).toEqual(Long.fromNumber(5));
    expect(runtimeError({ $abs: Long.MIN_VALUE }).message).toBe("can't take $abs of long long min");
    expect(run({ $ceil: 1.2 })).toBe(2);
    expect(run({ $floor: -1.2 })).toBe(-2);
    expect(String(run({ $floor: dec("-1.5") }))).toBe("-2");
    expect(run({ $ceil: null })).toBeNull();
    expect(runtimeError({ $floor: "x" }).message).toBe("$floor only supports numeric types, not string");
  });

  it("$sqrt, $exp, $ln, $log10, $log validate their domains", () => {
    expect(run({ $sqrt: 16 })).toBe(4);
    expect(run({ $sqrt: NaN })).toBeNaN();
    expect(runtimeError({ $sqrt: -1 }).message).toBe("$sqrt's argument must be greater than or equal to 0");
    expect(run({ $exp: 0 })).toBe(1);
    expect(run({ $ln: 1 })).toBe(0);
    expect(run({ $log10: 1000 })).toBeCloseTo(3, 12);
    expect(run({ $log: [8, 2] })).toBe(3);
    expect(runtimeError({ $ln: 0 }).message).toBe("$ln's argument must be a positive number, but is 0");
    expect(runtimeError({ $log10: -2.5 }).message).toBe(
      "$log10's argument must be a positive number, but is -2.5",
    );
    expect(runtimeError({ $log: [8, 1] }).message).toBe(
      "$log's base must be a positive number not equal to 1, but is 1",
    );
    expect(runtimeError({ $log: ["x", 2] }).message).toBe("$log's argument must be numeric, not string");
    expect(String(run({ $ln: dec("1") }))).toBe("0");
  });

  it("$pow keeps integers exact while they fit", () => {
    expect(run({ $pow: [2, 10] })).toBe(1024);
    expect(run({ $pow: [0, 0] })).toBe(1);
    expect(run({ $pow: [2, -1] })).toBe(0.5);
    expect(run({ $pow: [-1, -3] })).toBe(-1);
    expect(run({ $pow: [2, 62] })).toEqual(Long.fromString("4611686018427387904"));
    expect(run({ $pow: [2, 64] })).toBe(2 ** 64);
    expect(run({ $pow: [Long.fromNumber(3), 2] })).toEqual(Long.fromNumber(9));
    expect(String(run({ $pow: [dec("1.5"), 2] }))).toBe("2.25");
    expect(runtimeError({ $pow: [0, -1] }).message).toBe(
      "$pow cannot take a base of 0 and a negative exponent",
    );
    expect(runtimeError({ $pow: [2, "x"] }).message).toBe("$pow's exponent must be numeric, not string");
  });
});

describe("$round and $trunc", () => {
  it("round half to even, at any place", () => {
    expect(run({ $round: [2.5] })).toBe(2);
    expect(run({ $round: [3.5] })).toBe(4);
    expect(run({ $round: [-2.5] })).toBe(-2);
    expect(run({ $round: [19.25, 1] })).toBe(19.2);
    expect(run({ $round: [2.675, 2] })).toBe(2.67); // the double is 2.67499999…
    expect(run({ $round: [1250, -2] })).toBe(1200);
    expect(run({ $round: [1350, -2] })).toBe(1400);
    expect(run({ $round: [7, 2] })).toBe(7);
    expect(String(run({ $round: [dec("2.345"), 2] }))).toBe("2.34");
    expect(run({ $round: [Long.fromNumber(1234), -1] })).toEqual(Long.fromNumber(1230));
    expect(run({ $round: [Infinity, 1] })).toBe(Infinity);
  });

  it("truncates toward zero", () => {
    expect(run({ $trunc: [-2.7] })).toBe(-2);
    expect(run({ $trunc: [2.789, 2] })).toBe(2.78);
    expect(run({ $trunc: [1299, -2] })).toBe(1200);
    expect(String(run({ $trunc: [dec("-2.789"), 1] }))).toBe("-2.7");
  });

  it("validates the place", () => {
    expect(run({ $round: [1.5, null] })).toBeNull();
    expect(runtimeError({ $round: [1.5, 1.5] }).message).toBe(
      "precision argument to  $round must be a integral value",
    );
    expect(runtimeError({ $trunc: [1.5, 101] }).message).toBe(
      "cannot apply $trunc with precision value 101 value must be in [-20, 100]",
    );
    expect(runtimeError({ $round: ["x"] }).code).toBe(51081);
  });
});

describe("trigonometry", () => {
  it("computes in doubles, or decimals for Decimal128", () => {
    expect(run({ $sin: 0 })).toBe(0);
    expect(run({ $cos: 0 })).toBe(1);
    expect(run({ $atan2: [1, 1] })).toBeCloseTo(Math.PI / 4, 15);
    expect(run({ $degreesToRadians: 180 })).toBeCloseTo(Math.PI, 15);
    expect(run({ $radiansToDegrees: Math.PI })).toBeCloseTo(180, 12);
    expect(String(run({ $sin: dec("0") }))).toBe("0");
    expect(String(run({ $degreesToRadians: dec("180") })).startsWith("3.14159265358979323846")).toBe(true);
    expect(run({ $asinh: null })).toBeNull();
    expect(run({ $acos: NaN })).toBeNaN();
  });

  it("rejects inputs outside the domain", () => {
    expect(runtimeError({ $sin: Infinity }).message).toBe(
      "cannot apply $sin to inf, value must be in (-inf,inf)",
    );
    expect(runtimeError({ $asin: 2 }).message).toBe("cannot apply $asin to 2, value must be in [-1,1]");
    expect(runtimeError({ $acosh: 0.5 }).message).toBe(
      "cannot apply $acosh to 0.5, value must be in [1,inf]",
    );
    expect(runtimeError({ $atan2: ["x", 1] }).message).toBe("$atan2 only supports numeric types, not string");
  });
});

describe("constant folding", () => {
  it("evaluates constant operands once and still reports failures per document", () => {
    expect(run({ $add: [1, { $multiply: [2, 3] }] })).toBe(7);
    const failing = compileExpression({ $divide: [1, 0] });
    expect(() => failing({}, {})).toThrow("can't $divide by zero");
  });
});

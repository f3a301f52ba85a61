import { describe, expect, it } from "vitest";
import { Decimal128, Double, Int32, Long } from "bson";
import {
  addNumbers,
  divideNumbers,
  isNumericValue,
  multiplyNumbers,
  subtractNumbers,
} from "../../../src/mql/numeric.ts";

describe("numeric arithmetic", () => {
  it("keeps plain numbers as numbers", () => {
    expect(addNumbers(1, 2)).toBe(3);
    expect(subtractNumbers(1.5, 2)).toBe(-0.5);
    expect(multiplyNumbers(3, 4)).toBe(12);
    expect(divideNumbers(1, 4)).toBe(0.25);
    expect(addNumbers(new Int32(2), new Double(0.5))).toBe(2.5);
  });

  it("keeps Long arithmetic exact and widens to double on int64 overflow", () => {
    const big = Long.fromString("9007199254740993");
    const sum = addNumbers(big, 1);
    expect(sum).toBeInstanceOf(Long);
    expect((sum as Long).toString()).toBe("9007199254740994");
    expect((multiplyNumbers(Long.fromNumber(3), new Int32(4)) as Long).toString()).toBe("12");
    expect(addNumbers(Long.MAX_VALUE, 1)).toBe(9223372036854775808);
    expect(subtractNumbers(Long.MIN_VALUE, Long.fromNumber(1))).toBe(-9223372036854775808);
    expect(addNumbers(Long.fromNumber(1), 0.5)).toBe(1.5);
    expect(addNumbers(Long.fromNumber(1), new Double(2))).toBe(3);
    expect(divideNumbers(Long.fromNumber(7), Long.fromNumber(2))).toBe(3.5);
  });

  it("produces Decimal128 whenever a Decimal128 is involved", () => {
    const r = addNumbers(Decimal128.fromString("0.1"), 0.2);
    expect(r).toBeInstanceOf(Decimal128);
    expect(r!.toString()).toBe("0.3");
    expect(multiplyNumbers(Decimal128.fromString("1.5"), Long.fromNumber(2))!.toString()).toBe("3");
    expect(divideNumbers(Decimal128.fromString("1"), 3)!.toString()).toBe(
      "0.3333333333333333333333333333333333",
    );
    expect(subtractNumbers(Decimal128.fromString("NaN"), 1)!.toString()).toBe("NaN");
    expect(addNumbers(Decimal128.fromString("Infinity"), 1)!.toString()).toBe("Infinity");
    expect(String(multiplyNumbers(Decimal128.fromString("1e20"), Decimal128.fromString("1e20")))).toBe(
      "1E+40",
    );
    expect(
      String(multiplyNumbers(Decimal128.fromString("9.999999999999999999999999999999999E+6144"), 10)),
    ).toBe("Infinity");
    expect(String(multiplyNumbers(Decimal128.fromString("-0"), 1))).toBe("-0");
    // A double joins decimal arithmetic rounded to 15 significant digits, as in MongoDB.
    expect(String(addNumbers(Decimal128.fromString("0"), 0.1 + 0.2))).toBe("0.3");
  });

  it("follows IEEE for doubles", () => {
    expect(addNumbers(Infinity, -Infinity)).toBeNaN();
    expect(divideNumbers(1, 0)).toBe(Infinity);
  });

  it("recognises numeric values", () => {
    for (const v of [
      1,
      1.5,
      NaN,
      new Int32(1),
      new Double(1),
      Long.fromNumber(1),
      Decimal128.fromString("1"),
      1n,
    ]) {
      expect(isNumericValue(v)).toBe(true);
    }
    for (const v of ["1", null, undefined, true, new Date(0), {}, []]) expect(isNumericValue(v)).toBe(false);
  });
});

import { Binary, Decimal128, Double, Int32, Long, MaxKey, ObjectId, Timestamp } from "bson";
import { describe, expect, it } from "vitest";
import { MqlRuntimeError } from "../../../src/mql/index.ts";
import type { Doc } from "../../../src/mql/types.ts";
import { run, runtimeError } from "./support.ts";

const bin = (bytes: number[], subtype = 0): Binary => new Binary(Buffer.from(bytes), subtype);
const convert = (input: unknown, to: unknown, extra: Doc = {}): unknown =>
  run({ $convert: { input: { $literal: input }, to, ...extra } });

describe("$convert", () => {
  it("converts between the numeric types", () => {
    expect(convert(5.9, "int")).toBe(5);
    expect(convert(-5.9, "long")).toEqual(Long.fromNumber(-5));
    expect(convert(Long.fromNumber(7), "double")).toBe(7);
    expect(convert(Decimal128.fromString("12.7"), "int")).toBe(12);
    expect(String(convert(5.5, "decimal"))).toBe("5.50000000000000");
    expect(String(convert(Long.fromString("9007199254740993"), "decimal"))).toBe("9007199254740993");
    expect(convert(new Int32(3), "long")).toEqual(Long.fromNumber(3));
    expect(convert(new Double(2.5), 1)).toBe(2.5);
  });

  it("reports overflow, NaN and infinity when converting to integers", () => {
    expect(runtimeError({ $convert: { input: 3e10, to: "int" } }).message).toBe(
      "Conversion would overflow target type in $convert with no onError value: 30000000000",
    );
    expect(runtimeError({ $convert: { input: 1.5e19, to: "long" } }).message).toBe(
      "Conversion would overflow target type in $convert with no onError value: 1.5e+19",
    );
    expect(runtimeError({ $toInt: NaN }).message).toBe(
      "Attempt to convert NaN value to integer type in $convert with no onError value: nan",
    );
    expect(runtimeError({ $toLong: -Infinity }).message).toBe(
      "Attempt to convert infinity value to integer type in $convert with no onError value: -inf",
    );
  });

  it("parses strings strictly", () => {
    expect(convert("42", "int")).toBe(42);
    expect(convert("-9223372036854775808", "long")).toEqual(Long.MIN_VALUE);
    expect(convert("1.5e3", "double")).toBe(1500);
    expect(convert("-Infinity", "double")).toBe(-Infinity);
    expect(String(convert("0.1", "decimal"))).toBe("0.1");
    const err = runtimeError({ $convert: { input: "abc", to: "int" } });
    expect(err.message).toBe(
      "Failed to parse number 'abc' in $convert with no onError value: Did not consume whole string.",
    );
    expect(err.code).toBe(241);
    expect(err.operator).toBe("$convert");
    expect(runtimeError({ $toInt: "1.5" }).message).toContain("Did not consume whole string.");
    expect(runtimeError({ $toInt: "3000000000" }).message).toBe(
      "Failed to parse number '3000000000' in $convert with no onError value: Overflow",
    );
    expect(runtimeError({ $toDouble: "" }).message).toBe(
      "Failed to parse number '' in $convert with no onError value: No digits",
    );
  });

  it("converts to string", () => {
    expect(convert(1.5, "string")).toBe("1.5");
    expect(convert(-0, "string")).toBe("-0");
    expect(convert(Long.fromString("9007199254740993"), "string")).toBe("9007199254740993");
    expect(convert(true, "string")).toBe("true");
    expect(convert(new Date(Date.UTC(2018, 2, 27, 16, 58, 51, 538)), "string")).toBe(
      "2018-03-27T16:58:51.538Z",
    );
    expect(convert(new ObjectId("5ab9cbfa31c2ab715d42129e"), "string")).toBe("5ab9cbfa31c2ab715d42129e");
    expect(convert(Decimal128.fromString("1.10"), "string")).toBe("1.10");
  });

  it("converts to bool, date and objectId", () => {
    expect(convert(0, "bool")).toBe(false);
    expect(convert("", "bool")).toBe(true);
    expect(convert(Decimal128.fromString("0"), "bool")).toBe(false);
    expect(convert(1700000000000, "date")).toEqual(new Date(1700000000000));
    expect(convert(Long.fromNumber(5), "date")).toEqual(new Date(5));
    expect(convert("2020-01-02T03:04:05.678+01:00", "date")).toEqual(
      new Date(Date.UTC(2020, 0, 2, 2, 4, 5, 678)),
    );
    expect(convert("2020-01-02", "date")).toEqual(new Date(Date.UTC(2020, 0, 2)));
    expect(convert(new ObjectId("5ab9cbfa31c2ab715d42129e"), "date")).toEqual(new Date(1522125818000));
    expect(convert(new Timestamp({ t: 100, i: 1 }), "date")).toEqual(new Date(100000));
    expect(convert("5ab9cbfa31c2ab715d42129e", "objectId")).toEqual(new ObjectId("5ab9cbfa31c2ab715d42129e"));
    expect(runtimeError({ $toObjectId: "xyz" }).message).toBe(
      "Failed to parse objectId 'xyz' in $convert with no onError value: Invalid string length for parsing to OID, expected 24 but found 3",
    );
    expect(runtimeError({ $toDate: new Int32(5) }).message).toBe(
      "Unsupported conversion from int to date in $convert with no onError value",
    );
  });

  it("honours onError and onNull", () => {
    expect(run({ $convert: { input: "abc", to: "int", onError: "bad" } })).toBe("bad");
    expect(run({ $convert: { input: "$missing", to: "int", onNull: 0 } })).toBe(0);
    expect(run({ $convert: { input: null, to: "int" } })).toBeNull();
    expect(run({ $convert: { input: [1], to: "int", onError: "$fallback" } }, { fallback: -1 })).toBe(-1);
    expect(runtimeError({ $convert: { input: { $literal: [1] }, to: "int" } }).message).toBe(
      "Unsupported conversion from array to int in $convert with no onError value",
    );
  });

  it("resolves 'to' as a name, a code, an object or a per-document expression", () => {
    expect(convert("7", 16)).toBe(7);
    expect(convert("7", { type: "long" })).toEqual(Long.fromNumber(7));
    expect(run({ $convert: { input: "7", to: "$t" } }, { t: "double" })).toBe(7);
    expect(run({ $convert: { input: "7", to: "$missing" } })).toBeNull();
    expect(() => run({ $convert: { input: 1, to: "integer" } })).toThrow(
      "e.$convert.to: Unknown type name: integer",
    );
    expect(() => run({ $convert: { input: 1, to: 99 } })).toThrow(
      "numeric 'to' argument is not a valid type: 99",
    );
    expect(() => run({ $convert: { input: 1, to: "$t" } }, { t: "nope" })).toThrow(MqlRuntimeError);
    expect(() => run({ $convert: { input: 1 } })).toThrow("e.$convert: missing required argument 'to'");
    expect(() => run({ $convert: { input: 1, to: "int", format: "base32" } })).toThrow("e.$convert.format");
  });
});

describe("$convert binData extensions (ASP)", () => {
  it("reads two's-complement integers of 1, 2, 4 (and 8) bytes in either byte order", () => {
    expect(convert(bin([0xff]), "int")).toBe(-1);
    expect(convert(bin([0x01, 0x02]), "int")).toBe(0x0201);
    expect(convert(bin([0x01, 0x02]), "int", { byteOrder: "big" })).toBe(0x0102);
    expect(convert(bin([0, 0, 0, 0x80]), "int")).toBe(-2147483648);
    expect(convert(bin([1, 0, 0, 0, 0, 0, 0, 0x80]), "long")).toEqual(
      Long.fromString("-9223372036854775807"),
    );
    expect(convert(bin([0x7f]), "long")).toEqual(Long.fromNumber(127));
    expect(runtimeError({ $convert: { input: bin([1, 2, 3]), to: "int" } }).message).toContain(
      "binData must be 1, 2 or 4 bytes long, but is 3",
    );
    expect(run({ $convert: { input: bin([1, 2, 3]), to: "long", onError: "wrong width" } })).toBe(
      "wrong width",
    );
  });

  it("reads floats of 4 and 8 bytes", () => {
    const f32 = Buffer.alloc(4);
    f32.writeFloatBE(1.5);
    expect(convert(new Binary(f32), "double", { byteOrder: "big" })).toBe(1.5);
    const f64 = Buffer.alloc(8);
    f64.writeDoubleLE(-0.1);
    expect(convert(new Binary(f64), "double")).toBe(-0.1);
  });

  it("writes numbers and booleans as binData", () => {
    expect(Array.from((convert(1, "binData") as Binary).buffer)).toEqual([1, 0, 0, 0]);
    expect(Array.from((convert(1, "binData", { byteOrder: "big" }) as Binary).buffer)).toEqual([0, 0, 0, 1]);
    expect((convert(Long.fromNumber(-1), "binData") as Binary).buffer.length).toBe(8);
    expect(convert(convert(2.25, "binData"), "double")).toBe(2.25);
    expect(Array.from((convert(true, "binData") as Binary).buffer)).toEqual([1]);
    expect(
      convert(convert(Long.fromString("-5"), "binData", { byteOrder: "big" }), "long", { byteOrder: "big" }),
    ).toEqual(Long.fromNumber(-5));
  });

  it("converts between binData and strings in every format", () => {
    const hello = bin([0x68, 0x65, 0x6c, 0x6c, 0x6f]);
    expect(convert(hello, "string", { format: "utf8" })).toBe("hello");
    expect(convert(hello, "string", { format: "hex" })).toBe("68656C6C6F");
    expect(convert(hello, "string", { format: "base64" })).toBe("aGVsbG8=");
    expect(convert(bin([0xfb, 0xff]), "string", { format: "base64url" })).toBe("-_8");
    expect(convert(hello, "string")).toBe("aGVsbG8=");
    expect(
      Buffer.from((convert("aGVsbG8=", "binData", { format: "base64" }) as Binary).buffer).toString(),
    ).toBe("hello");
    expect(
      Buffer.from((convert("68656c6c6f", "binData", { format: "hex" }) as Binary).buffer).toString(),
    ).toBe("hello");
    const uuid = convert("123e4567-e89b-12d3-a456-426614174000", "binData", { format: "uuid" }) as Binary;
    expect(uuid.sub_type).toBe(4);
    expect(convert(uuid, "string", { format: "uuid" })).toBe("123e4567-e89b-12d3-a456-426614174000");
    expect(run({ $toString: { $literal: uuid } })).toBe("123e4567-e89b-12d3-a456-426614174000");
    expect(runtimeError({ $convert: { input: "zz", to: "binData", format: "hex" } }).message).toContain(
      "Input is not a valid hex string",
    );
    expect(runtimeError({ $convert: { input: "x", to: "binData" } }).message).toContain(
      "Format must be specified",
    );
    expect(
      runtimeError({ $convert: { input: bin([0xff]), to: "string", format: "utf8" } }).message,
    ).toContain("not valid UTF-8");
  });
});

describe("$toX shorthands", () => {
  it("convert and pass null through", () => {
    expect(run({ $toInt: "$a" }, { a: "12" })).toBe(12);
    expect(run({ $toLong: "5" })).toEqual(Long.fromNumber(5));
    expect(run({ $toDouble: true })).toBe(1);
    expect(String(run({ $toDecimal: 2 }))).toBe("2");
    expect(run({ $toString: 12 })).toBe("12");
    expect(run({ $toBool: "false" })).toBe(true);
    expect(run({ $toDate: "2021-05-06T07:08:09Z" })).toEqual(new Date(Date.UTC(2021, 4, 6, 7, 8, 9)));
    expect(run({ $toObjectId: "$missing" })).toBeNull();
    expect(() => run({ $toInt: [1, 2] })).toThrow("e.$toInt: expects 1 argument, got 2");
  });
});

describe("$type and $isNumber", () => {
  it("names BSON types, with missing for absent values", () => {
    expect(run({ $type: "$missing" })).toBe("missing");
    expect(run({ $type: 1 })).toBe("int");
    expect(run({ $type: 1.5 })).toBe("double");
    expect(run({ $type: { $literal: Long.fromNumber(1) } })).toBe("long");
    expect(run({ $type: { $literal: Decimal128.fromString("1") } })).toBe("decimal");
    expect(run({ $type: "$a" }, { a: [1] })).toBe("array");
    expect(run({ $type: { $literal: new MaxKey() } })).toBe("maxKey");
    expect(run({ $type: null })).toBe("null");
  });

  it("$isNumber accepts every numeric type", () => {
    expect(run({ $isNumber: 1 })).toBe(true);
    expect(run({ $isNumber: { $literal: Decimal128.fromString("1") } })).toBe(true);
    expect(run({ $isNumber: "1" })).toBe(false);
    expect(run({ $isNumber: "$missing" })).toBe(false);
  });
});

import "../support/fast-check.ts";
import fc from "fast-check";
import {
  Binary,
  BSONRegExp,
  BSONSymbol,
  Code,
  DBRef,
  Decimal128,
  deserialize,
  Double,
  EJSON,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  serialize,
  Timestamp,
  UUID,
} from "bson";
import { describe, expect, it } from "vitest";
import { decodeRecord, encodeRecord } from "../../src/control/record-codec.ts";
import { decodeState, encodeState, StateCodecError } from "../../src/runtime/state-codec.ts";
import { differenceBetween } from "./windows/same-value.ts";

const viaEjson = (x: unknown) =>
  decodeState(EJSON.parse(EJSON.stringify(encodeState(x), { relaxed: false }), { relaxed: false }));
const viaRecordCodec = (x: unknown) => decodeState(decodeRecord(encodeRecord(encodeState(x))) as never);
const viaBson = (x: unknown) => decodeState(deserialize(serialize(encodeState(x))));
const direct = (x: unknown) => decodeState(encodeState(x));

const ROUND_TRIPS = { direct, viaEjson, viaRecordCodec, viaBson };

function expectRoundTrips(value: unknown): void {
  for (const [name, trip] of Object.entries(ROUND_TRIPS)) {
    const difference = differenceBetween(value, trip(value));
    if (difference) throw new Error(`${name}: ${difference}`);
  }
}

const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u));
const anyString = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ unit: codeUnit }));

const trickyKeys = fc.constantFrom(
  "$foo",
  "$numberInt",
  "$numberLong",
  "$date",
  "$oid",
  "$ref",
  "$id",
  "$regex",
  "$",
  "a.b",
  ".",
  "~",
  "v",
  "format",
  "__proto__",
  "constructor",
  "",
  "x\u0000y",
  "\ud800",
  "0",
  "10",
);
const key = fc.oneof(trickyKeys, fc.string({ maxLength: 6 }), fc.string({ unit: codeUnit, maxLength: 3 }));

const bytes = fc.uint8Array({ maxLength: 20 });
const decimalText = fc.oneof(
  fc
    .tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: -6000, max: 6000 }))
    .map(([digits, exponent]) => `${digits}E${exponent}`),
  fc.constantFrom("NaN", "Infinity", "-Infinity", "-0", "0.000", "1.50"),
);
const regexOptions = fc.subarray(["i", "l", "m", "s", "u", "x"]).map((o) => o.join(""));

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.double(),
  fc.constantFrom(-0, 0, NaN, Infinity, -Infinity, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, 1e300),
  fc.integer(),
  fc.maxSafeInteger(),
  anyString,
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((b) => Long.fromBigInt(b)),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((b) => Long.fromBigInt(b, true)),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((n) => new Int32(n)),
  fc.double().map((d) => new Double(d)),
  decimalText.map((text) => Decimal128.fromString(text)),
  fc.uint8Array({ minLength: 12, maxLength: 12 }).map((b) => new ObjectId(b)),
  fc
    .tuple(fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 }))
    .map(([t, i]) => new Timestamp({ t, i })),
  fc.tuple(bytes, fc.constantFrom(0, 1, 2, 3, 5, 6, 7, 128, 200)).map(([b, s]) => new Binary(b, s)),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => new UUID(b)),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => new Binary(b, 4)),
  bytes,
  bytes.map((b) => Buffer.from(b)),
  fc.constantFrom(/a.b/g, /x/imsuy, new RegExp("[\\t-\\r ]+"), new RegExp("^\\$", "d")),
  fc
    .tuple(
      fc.string().filter((s) => !s.includes("\0")),
      regexOptions,
    )
    .map(([p, o]) => new BSONRegExp(p, o)),
  fc.constant(new MinKey()),
  fc.constant(new MaxKey()),
  anyString.map((s) => new BSONSymbol(s)),
  fc.date(),
  fc.constant(new Date(NaN)),
  fc.string().map((s) => new Code(s)),
);

/** An object built key by key, so keys like `__proto__` become own properties; some without a prototype. */
function objectOf(value: fc.Arbitrary<unknown>): fc.Arbitrary<Record<string, unknown>> {
  return fc.tuple(fc.array(fc.tuple(key, value), { maxLength: 5 }), fc.boolean()).map(([pairs, bare]) => {
    const out: Record<string, unknown> = bare ? (Object.create(null) as Record<string, unknown>) : {};
    for (const [k, v] of pairs)
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    return out;
  });
}

const { value: nested } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(tie("value"), { maxLength: 5 }),
    objectOf(tie("value")),
    fc.array(fc.tuple(tie("value"), tie("value")), { maxLength: 4 }).map((pairs) => new Map(pairs)),
    fc.array(tie("value"), { maxLength: 4 }).map((items) => new Set(items)),
    fc.tuple(fc.string({ maxLength: 5 }), objectOf(leaf)).map(([code, scope]) => new Code(code, scope)),
    fc
      .tuple(fc.stringMatching(/^[a-z]{1,5}$/), tie("value"), objectOf(leaf))
      .map(([collection, oid, fields]) => new DBRef(collection, oid as ObjectId, "db", fields)),
  ),
}));

describe("state codec", () => {
  it("round-trips nested values through EJSON canonical text and BSON with classes, -0, NaN and key order", () => {
    fc.assert(
      fc.property(nested, (value) => {
        expectRoundTrips(value);
        expectRoundTrips({ state: value, list: [value, undefined], map: new Map([[value, value]]) });
      }),
      { numRuns: 600 },
    );
  });

  it("keeps user keys that start with $ or hold dots, including ones EJSON reads as types", () => {
    const doc = {
      $date: { $numberLong: "5" },
      $numberDecimal: "1.5",
      $ref: "coll",
      $id: 7,
      "a.b": { "c.d": 1, $oid: "0123456789abcdef01234567" },
      "~": "tag-looking",
      nested: [{ $regex: "x", $options: "i" }, { $binary: { base64: "", subType: "00" } }],
    };
    expectRoundTrips(doc);
    // The only $-keys in the stored text are EJSON's own number wrappers: user keys are never field names.
    const stored: unknown = JSON.parse(EJSON.stringify(encodeState(doc), { relaxed: false }));
    const dollarKeys = new Set<string>();
    const visit = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(visit);
      else if (value !== null && typeof value === "object")
        for (const [k, v] of Object.entries(value)) {
          if (k.startsWith("$") || k.includes(".")) dollarKeys.add(k);
          visit(v);
        }
    };
    visit(stored);
    expect([...dollarKeys]).toEqual(["$numberInt"]);
  });

  it("tells JS numbers from Int32, Double, Long and bigint after both round trips", () => {
    const value = [
      5,
      new Int32(5),
      new Double(5),
      Long.fromNumber(5),
      5n,
      2 ** 40,
      Long.fromNumber(2 ** 40),
      -0,
      new Double(-0),
      NaN,
      Infinity,
      -Infinity,
      Long.MAX_VALUE,
      Long.fromString("18446744073709551615", true),
    ];
    for (const trip of Object.values(ROUND_TRIPS)) {
      const back = trip(value) as unknown[];
      expect(differenceBetween(value, back)).toBeUndefined();
      expect(typeof back[0]).toBe("number");
      expect(back[1]).toBeInstanceOf(Int32);
      expect(back[3]).toBeInstanceOf(Long);
      expect(Object.is(back[7], -0)).toBe(true);
    }
  });

  it("keeps a Map's insertion order and non-string keys (an $addToSet state), and Sets", () => {
    const map = new Map<unknown, unknown>([
      ["s1", 1],
      [1, "one"],
      [new Date(3), [undefined]],
      [Decimal128.fromString("1.0"), null],
      [{ $k: 1 }, new Set([1, "1", Long.ONE])],
    ]);
    expectRoundTrips(map);
    expect([...(viaBson(map) as Map<unknown, unknown>).keys()][1]).toBe(1);
  });

  it("refuses functions, symbols and unknown classes with a clear error", () => {
    expect(() => encodeState({ f: () => 1 })).toThrow(StateCodecError);
    expect(() => encodeState([Symbol("x")])).toThrow(/cannot store a symbol/);
    class Custom {}
    expect(() => encodeState({ c: new Custom() })).toThrow(/instance of Custom/);
  });

  it("rejects state written in an unknown format", () => {
    expect(() => decodeState({ format: 99, value: 1 })).toThrow(/resumeFromCheckpoint: false/);
  });
});

import {
  Binary,
  BSONRegExp,
  BSONSymbol,
  Code,
  DBRef,
  Decimal128,
  Double,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  Timestamp,
  UUID,
} from "bson";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteBuffer } from "../../src/codec/byte-buffer.ts";
import { stringifyExtendedJson, type StringifyOptions } from "../../src/codec/ejson.ts";
import { referenceExtendedJson } from "./relaxed-reference.ts";
import { writeExtendedJson } from "../../src/codec/json-bytes.ts";

const FORMATS: readonly StringifyOptions[] = [
  {},
  { dateFormat: "ISO8601" },
  { outputFormat: "canonicalJson" },
  { outputFormat: "canonicalJson", dateFormat: "ISO8601" },
];

/** Writes `value` after a few bytes already in a deliberately small buffer, so growth is exercised too. */
function written(value: unknown, options?: StringifyOptions): Buffer {
  const out = new ByteBuffer(8);
  out.ascii("prefix");
  writeExtendedJson(out, value, options);
  return Buffer.from(out.view(6));
}

function expectSameBytes(value: unknown, options?: StringifyOptions): void {
  let expected: Buffer;
  try {
    expected = Buffer.from(referenceExtendedJson(value, options));
  } catch (error) {
    expect(() => written(value, options)).toThrow((error as Error).constructor as ErrorConstructor);
    return;
  }
  const actual = written(value, options);
  if (!actual.equals(expected)) {
    expect(actual.toString("hex")).toBe(expected.toString("hex"));
  }
  // stringifyExtendedJson is the same writer, decoded: it must match the reference too.
  expect(stringifyExtendedJson(value, options)).toBe(expected.toString("utf8"));
}

const longAscii = "abcdefghijklmnopqrstuvwxyz0123456789 -_.~!#$%&'()*+,/:;<=>?@[]^`{|}".repeat(40);

const strings: Record<string, string> = {
  empty: "",
  short: "a",
  plain: "sensor-42",
  quote: 'say "hi"',
  backslash: "C:\\path\\to",
  controls: "tab\tnl\ncr\rnul\u0000us\u001f",
  del: "rub\u007fout",
  printableAscii: Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)).join(""),
  latin1: "café naïve ÿ",
  bmp: "日本語テキスト",
  separators: "\u2028\u2029",
  astral: "emoji 😀 and 𝄞",
  loneHigh: "x\ud800y",
  loneLow: "x\udc00y",
  reversedPair: "\udc00\ud800",
  trailingHigh: "ab\ud83d",
  exactly24: "x".repeat(24),
  exactly25: "x".repeat(25),
  long: longAscii,
  huge: "z".repeat(200_000),
  longQuoteAtEnd: "y".repeat(100) + '"',
  longUnicodeAtEnd: "y".repeat(100) + "é",
  longControlAtStart: "\n" + "y".repeat(100),
};

const numbers: Record<string, number> = {
  zero: 0,
  negativeZero: -0,
  one: 1,
  minusOne: -1,
  nine: 9,
  ten: 10,
  ninetyNine: 99,
  hundred: 100,
  hundredOne: 101,
  thousandish: 123_456,
  oneAndAHalf: 1.5,
  minusOneAndAHalf: -1.5,
  tenth: 0.1 + 0.2,
  tiny: 1e-7,
  minValue: Number.MIN_VALUE,
  maxValue: Number.MAX_VALUE,
  e15: 1e15,
  under1e15: 999_999_999_999_999,
  e16: 1e16,
  e21: 1e21,
  int32Max: 2 ** 31 - 1,
  int32MaxPlusOne: 2 ** 31,
  int32Min: -(2 ** 31),
  int32MinMinusOne: -(2 ** 31) - 1,
  uint32Max: 2 ** 32 - 1,
  maxSafe: Number.MAX_SAFE_INTEGER,
  minSafe: Number.MIN_SAFE_INTEGER,
  twoTo53: 2 ** 53,
  minusTwoTo53: -(2 ** 53),
  twoTo53PlusTwo: 2 ** 53 + 2,
  nan: NaN,
  infinity: Infinity,
  minusInfinity: -Infinity,
};

const dates: Record<string, Date> = {
  epoch: new Date(0),
  normal: new Date("2024-02-03T04:05:06.789Z"),
  beforeEpoch: new Date(-1),
  year1: new Date("0001-01-01T00:00:00Z"),
  yearMinus1: new Date(-62198755200000),
  lastRelaxed: new Date(253402300799999),
  after9999: new Date(253402300800000),
  max: new Date(8.64e15),
  min: new Date(-8.64e15),
  invalid: new Date(NaN),
};

const bsonValues: Record<string, unknown> = {
  objectId: new ObjectId("65f0a1b2c3d4e5f601234567"),
  longSmall: Long.fromNumber(42),
  longNegative: Long.fromNumber(-7),
  longBig: Long.fromString("9007199254740993"),
  longMin: Long.MIN_VALUE,
  int32: new Int32(-5),
  double: new Double(5),
  doubleFraction: new Double(1.25),
  doubleNegativeZero: new Double(-0),
  doubleNaN: new Double(NaN),
  doubleInfinity: new Double(-Infinity),
  decimal: Decimal128.fromString("1.20"),
  decimalNaN: Decimal128.fromString("NaN"),
  decimalBig: Decimal128.fromString("-1.234567890123456789012345678901234E+6000"),
  binary: new Binary(Buffer.from("hi there"), 0),
  binaryEmpty: new Binary(Buffer.alloc(0), 0x80),
  uuid: new UUID("0123456789abcdef0123456789abcdef"),
  timestamp: new Timestamp({ t: 1_700_000_000, i: 7 }),
  bsonRegExp: new BSONRegExp("a+b\\d", "xsmi"),
  bsonRegExpOddFlags: new BSONRegExp('é"q', "ul"),
  regExp: /ab+c/gimsuy,
  regExpEscapes: /"\\\/é/d,
  dbRef: new DBRef("coll", new ObjectId("000000000000000000000001"), "db", { extra: 1 }),
  dbRefPlain: new DBRef("coll", 5 as unknown as ObjectId),
  minKey: new MinKey(),
  maxKey: new MaxKey(),
  code: new Code("function () { return 'é'; }"),
  codeWithScope: new Code("x + y", { x: 1, y: "two" }),
  symbol: new BSONSymbol("sym"),
};

function nested(): Record<string, unknown> {
  const inheriting = Object.create({ inherited: "yes" }) as Record<string, unknown>;
  inheriting.own = 1;
  const bare = Object.create(null) as Record<string, unknown>;
  bare.k = "v";
  return {
    empty: {},
    emptyArray: [],
    deep: { a: { b: { c: [1, [2, [3, { d: "e" }]]] } } },
    skipped: { before: 1, gone: undefined, after: 2 },
    onlyUndefined: { gone: undefined },
    arrayHoles: [1, undefined, , null, 3], // eslint-disable-line no-sparse-arrays
    integerKeys: { b: 1, 10: "ten", 2: "two", a: 0 },
    inheriting,
    bare,
    mixed: [strings.astral, numbers.negativeZero, dates.normal, bsonValues.objectId, 7n, true, null],
  };
}

const keys = [
  "",
  "plain",
  "with space",
  'q"uote',
  "back\\slash",
  "new\nline",
  "ключ",
  "😀",
  "lone\ud800",
  "k".repeat(24),
  "k".repeat(25),
  "k".repeat(200),
  "k".repeat(200) + "\t",
  "$date",
  "_bsontypeLike",
];

describe("writeExtendedJson", () => {
  const cases: Record<string, unknown> = {
    ...strings,
    ...numbers,
    ...dates,
    ...bsonValues,
    ...nested(),
    true: true,
    false: false,
    null: null,
    bigintZero: 0n,
    bigintNegative: -5n,
    bigintHuge: 2n ** 70n,
    func: () => 1,
    symbolValue: Symbol("s"),
  };

  describe.each(FORMATS.map((options) => [JSON.stringify(options), options] as const))(
    "with options %s",
    (_name, options) => {
      it.each(Object.entries(cases))(
        "writes %s like the reference writer, as a field and an element",
        (_, value) => {
          expectSameBytes({ v: value }, options);
          expectSameBytes({ a: 1, v: value, z: [value, value] }, options);
        },
      );

      it("writes every kind of field name like the reference writer", () => {
        const doc = Object.fromEntries(keys.map((key, i) => [key, i]));
        expectSameBytes(doc, options);
        for (const key of keys) expectSameBytes({ [key]: { [key]: key } }, options);
      });
    },
  );

  it.each(Object.entries(cases))("writes a bare %s like the reference writer (relaxed)", (_, value) => {
    expectSameBytes(value);
    expectSameBytes(value, { dateFormat: "ISO8601" });
  });

  it("writes a bare undefined as null", () => {
    expect(written(undefined).toString()).toBe("null");
  });

  it("writes the same date twice in a row in each date format from its cache", () => {
    for (const date of [new Date("2030-01-01T00:00:00Z"), new Date(-1), new Date(NaN)]) {
      for (const options of [{}, { dateFormat: "ISO8601" }, {}, { dateFormat: "ISO8601" }] as const) {
        expectSameBytes({ a: date, b: date, c: new Date(date.getTime()), d: dates.normal }, options);
      }
    }
  });

  it("formats every day from 1970 to 2110 and random instants up to year 9999 like toISOString", () => {
    const instants: number[] = [];
    for (let day = 0; day < 51_500; day++) instants.push(day * 86_400_000 + ((day * 7_919_993) % 86_400_000));
    const random = fc.sample(fc.integer({ min: 0, max: 253402300799999 }), { numRuns: 20_000, seed: 7 });
    instants.push(...random, 951_782_400_000, 4_107_542_400_000, 253402300799999, 253402300800000);
    for (const options of [{}, { dateFormat: "ISO8601" }] as const) {
      const out = new ByteBuffer();
      let expected = "";
      for (const ms of instants) {
        writeExtendedJson(out, new Date(ms), options);
        expected += referenceExtendedJson(new Date(ms), options);
      }
      expect(out.view().toString("latin1")).toBe(expected);
    }
  });

  it("leaves the buffer untouched when a document cannot be written", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const fakeBson = { x: "y", bad: { _bsontype: "ObjectId" } };
    for (const value of [cyclic, fakeBson]) {
      expect(() => referenceExtendedJson(value)).toThrow();
      const out = new ByteBuffer(16);
      out.ascii("keep");
      expect(() => writeExtendedJson(out, value)).toThrow();
      expect(out.view().toString()).toBe("keep");
    }
  });

  it("writes many documents back to back, each readable as a view of the batch", () => {
    const docs = Array.from({ length: 1000 }, (_, i) => ({
      id: i,
      name: i % 7 === 0 ? `капля-${i}` : `sensor-${i % 50}`,
      _ts: new Date(1_790_000_000_000 + (i % 3)),
      meta: { offset: 123_456 + i, tags: i % 2 === 0 ? ["a", i * 1.5] : [], skip: undefined },
      big: i % 100 === 0 ? "x".repeat(5000) : undefined,
    }));
    for (const options of FORMATS) {
      const out = new ByteBuffer(64);
      const bounds: [number, number][] = [];
      const early: Buffer[] = [];
      for (const doc of docs) {
        const start = out.position;
        writeExtendedJson(out, doc, options);
        bounds.push([start, out.position]);
        early.push(Buffer.from(out.view(start, out.position)));
      }
      docs.forEach((doc, i) => {
        const expected = Buffer.from(referenceExtendedJson(doc, options));
        expect(out.view(...bounds[i]).equals(expected)).toBe(true);
        expect(early[i].equals(expected)).toBe(true);
      });
    }
  });
});

describe("writeExtendedJson on generated documents", () => {
  const char = fc.oneof(
    { weight: 8, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) },
    { weight: 1, arbitrary: fc.constantFrom('"', "\\", "\n", "\u007f", "é", "😀", "\ud800", "\udfff") },
  );
  const text = fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: char, maxLength: 12 }) },
    { weight: 1, arbitrary: fc.string({ unit: char, minLength: 20, maxLength: 80 }) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 20, maxLength: 300 }) },
  );
  const number = fc.oneof(
    fc.integer({ min: -1000, max: 1000 }),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double(),
    fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 2 ** 53, 1e21),
  );
  const date = fc.oneof(
    fc.date({ noInvalidDate: false }),
    fc.constantFrom(new Date(1_790_000_000_000), new Date(-1), new Date(253402300800000)),
  );
  const bson = fc.oneof(
    fc.integer().map((n) => new Int32(n)),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => Long.fromBigInt(n)),
    fc.double().map((n) => new Double(n)),
    fc.uint8Array({ maxLength: 20 }).map((bytes) => new Binary(bytes)),
    fc.uint8Array({ minLength: 12, maxLength: 12 }).map((bytes) => new ObjectId(bytes)),
    fc.tuple(text, fc.constantFrom("", "i", "lms", "xu")).map(([p, f]) => new BSONRegExp(p, f)),
    fc.constantFrom(Decimal128.fromString("3.14"), new Timestamp({ t: 5, i: 6 }), new MinKey(), /x/i),
  );
  const leaf = fc.oneof(
    { weight: 4, arbitrary: text },
    { weight: 4, arbitrary: number },
    { weight: 1, arbitrary: fc.constantFrom(true, false, null, undefined) },
    { weight: 1, arbitrary: fc.bigInt() },
    { weight: 1, arbitrary: date },
    { weight: 1, arbitrary: bson },
  );
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      fc.array(tie("value"), { maxLength: 5 }),
      fc.dictionary(fc.oneof(text, fc.constantFrom("id", "_ts", "value")), tie("value"), { maxKeys: 6 }),
    ),
  }));
  const options = fc.constantFrom(...FORMATS);

  it("match stringifyExtendedJson byte for byte, one at a time and back to back", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(value, options), { minLength: 1, maxLength: 10 }), (batch) => {
        const out = new ByteBuffer(32);
        const bounds: [number, number][] = [];
        for (const [doc, opts] of batch) {
          const start = out.position;
          writeExtendedJson(out, { doc }, opts);
          bounds.push([start, out.position]);
        }
        batch.forEach(([doc, opts], i) => {
          const expected = Buffer.from(referenceExtendedJson({ doc }, opts)).toString("hex");
          expect(out.view(...bounds[i]).toString("hex")).toBe(expected);
        });
      }),
      { numRuns: 600 },
    );
  });
  // Documents of plain JSON values only take JSON.stringify's path: it must write the same bytes.
  const plainLeaf = fc.oneof(
    { weight: 4, arbitrary: text },
    { weight: 4, arbitrary: number },
    { weight: 1, arbitrary: fc.constantFrom(true, false, null, undefined) },
  );
  const { plain } = fc.letrec<{ plain: unknown }>((tie) => ({
    plain: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      plainLeaf,
      fc.array(tie("plain"), { maxLength: 5 }),
      fc.dictionary(fc.oneof(text, fc.constantFrom("id", "__proto__", "toJSON")), tie("plain"), {
        maxKeys: 6,
      }),
    ),
  }));

  it("write plain JSON documents (JSON.stringify's path) like the reference writer", () => {
    fc.assert(
      fc.property(plain, options, (doc, opts) => {
        const out = new ByteBuffer(32);
        writeExtendedJson(out, { doc, n: 1 }, opts);
        const expected = Buffer.from(referenceExtendedJson({ doc, n: 1 }, opts)).toString("hex");
        expect(out.view().toString("hex")).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });
});

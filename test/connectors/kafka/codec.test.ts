import { Binary, Long } from "bson";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeHeaders,
  decodeKey,
  encodeHeaders,
  encodeKey,
  KafkaCodecError,
} from "../../../src/connectors/kafka/codec.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);

describe("Kafka keys", () => {
  it("decodes every keyFormat the way Java serializers wrote them", () => {
    expect(decodeKey(bytes(0, 0, 1, 0), "int")).toBe(256);
    expect(decodeKey(bytes(255, 255, 255, 254), "int")).toBe(-2);
    expect(decodeKey(bytes(0, 0, 0, 0, 0, 0, 0, 7), "long")).toBe(7);
    expect((decodeKey(bytes(127, 255, 255, 255, 255, 255, 255, 255), "long") as Long).toString()).toBe(
      "9223372036854775807",
    );
    expect(decodeKey(bytes(0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18), "double")).toBeCloseTo(Math.PI);
    expect(decodeKey(new TextEncoder().encode("dev-1"), "string")).toBe("dev-1");
    expect(decodeKey(new TextEncoder().encode('{"id":{"$numberLong":"5"}}'), "json")).toEqual({ id: 5 });
    const bin = decodeKey(bytes(1, 2), "binData") as Binary;
    expect([...bin.value()]).toEqual([1, 2]);
    expect(decodeKey(bytes(), "string")).toBeUndefined();
    expect(decodeKey(null, "int")).toBeUndefined();
  });

  it("rejects keys that do not fit their format", () => {
    expect(() => decodeKey(bytes(1, 2, 3), "int")).toThrow(KafkaCodecError);
    expect(() => decodeKey(bytes(0xff, 0xfe), "string")).toThrow("not valid UTF-8");
    expect(() => decodeKey(new TextEncoder().encode("{oops"), "json")).toThrow("Failed to parse key as json");
    expect(() => encodeKey("x", "int")).toThrow("cannot be written with keyFormat int");
    expect(() => encodeKey(2 ** 31, "int")).toThrow("does not fit keyFormat int");
    expect(() => encodeKey(5, "binData")).toThrow(KafkaCodecError);
  });

  it("round-trips int, long, double and string keys", () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (n) => {
        expect(decodeKey(encodeKey(n, "int"), "int")).toBe(n);
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
        const decoded = decodeKey(encodeKey(Long.fromBigInt(n), "long"), "long");
        expect(typeof decoded === "number" ? BigInt(decoded) : (decoded as Long).toBigInt()).toBe(n);
      }),
    );
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (n) => {
        expect(decodeKey(encodeKey(n, "double"), "double")).toBe(n);
      }),
    );
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (s) => {
        expect(decodeKey(encodeKey(s, "string"), "string")).toBe(s);
      }),
    );
  });
});

describe("Kafka headers", () => {
  it("decodes headers to {k, v: binData}", () => {
    const decoded = decodeHeaders([
      ["a", bytes(1)],
      ["b", null],
    ]);
    expect(decoded[0].k).toBe("a");
    expect([...(decoded[0].v as Binary).value()]).toEqual([1]);
    expect(decoded[1]).toEqual({ k: "b", v: null });
  });

  it("encodes an object or an array of {k, v} with typed values", () => {
    const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : b);
    const fromObject = encodeHeaders({ s: "x", o: { a: 1 }, n: null, i: 1 });
    expect(fromObject.map(([k, v]) => [k, k === "i" ? [...(v as Uint8Array)] : text(v)])).toEqual([
      ["s", "x"],
      ["o", '{"a":1}'],
      ["n", null],
      ["i", [0, 0, 0, 1]],
    ]);
    expect(
      encodeHeaders([{ k: "h", v: new Binary(bytes(9)) }]).map(([k, v]) => [k, [...(v as Uint8Array)]]),
    ).toEqual([["h", [9]]]);
    expect(() => encodeHeaders("nope")).toThrow("headers must evaluate to an object");
    expect(() => encodeHeaders([{ v: 1 }])).toThrow("headers[0] must be an object");
    expect(() => encodeHeaders({ d: new Date() })).toThrow("unsupported type date");
  });
});

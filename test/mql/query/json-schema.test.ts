import { Decimal128, Long } from "bson";
import { describe, expect, it } from "vitest";
import { compileQuery } from "../../../src/mql/query/compile.ts";
import type { Doc } from "../../../src/mql/types.ts";

function valid(schema: Record<string, unknown>, doc: Doc): boolean {
  return compileQuery({ $jsonSchema: schema })(doc);
}

function schemaError(schema: unknown): string {
  try {
    compileQuery({ $jsonSchema: schema }, { path: "pipeline[0].$match" });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected a compile error");
}

describe("$jsonSchema", () => {
  it("checks required fields and property types (type and bsonType)", () => {
    const schema = {
      required: ["name", "qty"],
      properties: {
        name: { type: "string" },
        qty: { bsonType: ["int", "long"] },
        price: { bsonType: "number" },
      },
    };
    expect(valid(schema, { name: "x", qty: 1 })).toBe(true);
    expect(valid(schema, { name: "x", qty: Long.fromNumber(1), price: Decimal128.fromString("1.5") })).toBe(
      true,
    );
    expect(valid(schema, { name: "x" })).toBe(false);
    expect(valid(schema, { name: 1, qty: 1 })).toBe(false);
    expect(valid(schema, { name: "x", qty: 1.5 })).toBe(false);
    expect(valid(schema, { name: "x", qty: 1, price: "1" })).toBe(false);
    expect(valid({ properties: { a: { type: "number" } } }, { a: [1] })).toBe(false); // arrays are not traversed
    expect(valid({ properties: { a: { type: "null" } } }, { a: null })).toBe(true);
    expect(valid({ type: "array" }, {})).toBe(false); // a document is an object
  });

  it("applies type-specific keywords only to values of that type", () => {
    const schema = {
      properties: { a: { minimum: 5, maxLength: 2, minItems: 2, minProperties: 1 } },
    };
    expect(valid(schema, { a: 5 })).toBe(true);
    expect(valid(schema, { a: 4 })).toBe(false);
    expect(valid(schema, { a: "ab" })).toBe(true);
    expect(valid(schema, { a: "abc" })).toBe(false);
    expect(valid(schema, { a: [1, 2] })).toBe(true);
    expect(valid(schema, { a: [1] })).toBe(false);
    expect(valid(schema, { a: {} })).toBe(false);
    expect(valid(schema, { a: true })).toBe(true);
    expect(valid(schema, {})).toBe(true);
  });

  it("handles numeric bounds across numeric types, exclusive bounds and multipleOf", () => {
    const schema = {
      properties: {
        a: { minimum: 1, exclusiveMinimum: true, maximum: Long.fromNumber(10), multipleOf: 0.5 },
      },
    };
    expect(valid(schema, { a: 1 })).toBe(false);
    expect(valid(schema, { a: 1.5 })).toBe(true);
    expect(valid(schema, { a: Decimal128.fromString("10") })).toBe(true);
    expect(valid(schema, { a: 10.5 })).toBe(false);
    expect(valid(schema, { a: 1.25 })).toBe(false);
    expect(valid(schema, { a: NaN })).toBe(false);
  });

  it("counts string length in code points and matches patterns", () => {
    const schema = { properties: { s: { minLength: 2, maxLength: 2, pattern: "^[a-z😀]+$" } } };
    expect(valid(schema, { s: "ab" })).toBe(true);
    expect(valid(schema, { s: "a😀" })).toBe(true);
    expect(valid(schema, { s: "a" })).toBe(false);
    expect(valid(schema, { s: "A1" })).toBe(false);
  });

  it("validates additionalProperties and patternProperties", () => {
    const schema = {
      properties: { _id: {} },
      patternProperties: { "^x_": { type: "number" } },
      additionalProperties: false,
    };
    expect(valid(schema, { _id: 1, x_a: 1 })).toBe(true);
    expect(valid(schema, { _id: 1, x_a: "1" })).toBe(false);
    expect(valid(schema, { _id: 1, y: 1 })).toBe(false);
    expect(valid({ additionalProperties: { type: "string" } }, { a: "x", b: "y" })).toBe(true);
    expect(valid({ additionalProperties: { type: "string" } }, { a: "x", b: 1 })).toBe(false);
  });

  it("validates items (single and tuple), additionalItems, uniqueItems", () => {
    expect(valid({ properties: { a: { items: { type: "number" } } } }, { a: [1, 2] })).toBe(true);
    expect(valid({ properties: { a: { items: { type: "number" } } } }, { a: [1, "2"] })).toBe(false);
    const tuple = {
      properties: { a: { items: [{ type: "string" }, { type: "number" }], additionalItems: false } },
    };
    expect(valid(tuple, { a: ["x", 1] })).toBe(true);
    expect(valid(tuple, { a: ["x"] })).toBe(true);
    expect(valid(tuple, { a: ["x", 1, 2] })).toBe(false);
    expect(valid(tuple, { a: [1, 1] })).toBe(false);
    const unique = { properties: { a: { uniqueItems: true } } };
    expect(valid(unique, { a: [1, 2] })).toBe(true);
    expect(valid(unique, { a: [1, 1.0] })).toBe(false);
    expect(
      valid(unique, {
        a: [
          { x: 1, y: 2 },
          { y: 2, x: 1 },
        ],
      }),
    ).toBe(false); // field order is ignored
    expect(valid({ properties: { a: { minItems: 1, maxItems: 1 } } }, { a: [1, 2] })).toBe(false);
  });

  it("validates enum, allOf, anyOf, oneOf, not and dependencies", () => {
    expect(valid({ properties: { a: { enum: [1, "x", { b: 1, c: 2 }] } } }, { a: { c: 2, b: 1 } })).toBe(
      true,
    );
    expect(valid({ properties: { a: { enum: [1, "x"] } } }, { a: 2 })).toBe(false);
    const one = { properties: { a: { oneOf: [{ minimum: 5 }, { maximum: 10 }] } } };
    expect(valid(one, { a: 3 })).toBe(true);
    expect(valid(one, { a: 7 })).toBe(false);
    expect(valid({ properties: { a: { anyOf: [{ type: "string" }, { minimum: 5 }] } } }, { a: 1 })).toBe(
      false,
    );
    expect(valid({ properties: { a: { allOf: [{ minimum: 1 }, { maximum: 2 }] } } }, { a: 2 })).toBe(true);
    expect(valid({ properties: { a: { not: { type: "string" } } } }, { a: "x" })).toBe(false);
    const deps = { dependencies: { card: ["billing"], gift: { required: ["to"] } } };
    expect(valid(deps, { card: 1, billing: 1 })).toBe(true);
    expect(valid(deps, { card: 1 })).toBe(false);
    expect(valid(deps, { gift: 1 })).toBe(false);
    expect(valid(deps, { other: 1 })).toBe(true);
  });

  it("combines with other query operators", () => {
    const match = compileQuery({ $jsonSchema: { required: ["a"] }, a: { $gt: 1 } });
    expect(match({ a: 2 })).toBe(true);
    expect(match({ a: 1 })).toBe(false);
    expect(compileQuery({ $nor: [{ $jsonSchema: { required: ["a"] } }] })({})).toBe(true);
  });

  it("rejects keywords MongoDB does not support, with the path", () => {
    expect(schemaError({ $ref: "#/x" })).toBe(
      "pipeline[0].$match.$jsonSchema.$ref: $jsonSchema keyword '$ref' is not currently supported",
    );
    expect(schemaError({ properties: { a: { format: "email" } } })).toBe(
      "pipeline[0].$match.$jsonSchema.properties.a.format: $jsonSchema keyword 'format' is not currently supported",
    );
    for (const keyword of ["default", "id", "definitions", "$schema"]) {
      expect(schemaError({ [keyword]: {} })).toMatch(/is not currently supported$/);
    }
    expect(schemaError({ foo: 1 })).toBe(
      "pipeline[0].$match.$jsonSchema.foo: Unknown $jsonSchema keyword: foo",
    );
    expect(schemaError({ type: "integer" })).toBe(
      "pipeline[0].$match.$jsonSchema.type: $jsonSchema type 'integer' is not currently supported.",
    );
    expect(schemaError({ type: "object", bsonType: "object" })).toMatch(
      /Cannot specify both \$jsonSchema keywords 'type' and 'bsonType'/,
    );
    expect(schemaError({ required: [] })).toMatch(/'required' must be a nonempty array/);
    expect(schemaError({ properties: { a: { exclusiveMinimum: true } } })).toMatch(
      /'minimum' must be a present if exclusiveMinimum is present/,
    );
    expect(schemaError(1)).toBe("pipeline[0].$match.$jsonSchema: $jsonSchema must be an object");
  });
});

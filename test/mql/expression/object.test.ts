import { describe, expect, it } from "vitest";
import { MqlRuntimeError } from "../../../src/mql/index.ts";
import type { Doc } from "../../../src/mql/types.ts";
import { run } from "./support.ts";

describe("$mergeObjects", () => {
  it("merges left to right, skipping null and missing", () => {
    expect(run({ $mergeObjects: [{ a: 1, b: 1 }, null, "$missing", "$x"] }, { x: { b: 2, c: 3 } })).toEqual({
      a: 1,
      b: 2,
      c: 3,
    });
    expect(run({ $mergeObjects: [] })).toEqual({});
    expect(run({ $mergeObjects: "$x" }, { x: { a: 1 } })).toEqual({ a: 1 });
  });

  it("does not modify its inputs", () => {
    const doc = { x: { a: 1 }, y: { a: 2 } };
    run({ $mergeObjects: ["$x", "$y"] }, doc);
    expect(doc.x).toEqual({ a: 1 });
  });

  it("rejects non-object inputs", () => {
    expect(() => run({ $mergeObjects: [{ a: 1 }, "$s"] }, { s: "str" })).toThrow(MqlRuntimeError);
    expect(() => run({ $mergeObjects: [{ a: 1 }, "$s"] }, { s: "str" })).toThrow("is of type string");
  });
});

describe("$getField", () => {
  it("reads fields whose names contain dots or dollars", () => {
    expect(run({ $getField: "a.b" }, { "a.b": 1, a: { b: 2 } })).toBe(1);
    expect(run({ $getField: { field: { $literal: "$price" }, input: "$$ROOT" } }, { $price: 5 })).toBe(5);
    expect(run({ $getField: { field: "x", input: { x: 3 } } })).toBe(3);
  });

  it("returns missing for an absent field and null for a null input", () => {
    expect(run({ $getField: "nope" }, { a: 1 })).toBeUndefined();
    expect(run({ $getField: { field: "a", input: "$missing" } })).toBeNull();
  });

  it("accepts a field computed per document", () => {
    expect(run({ $getField: { field: "$name", input: "$obj" } }, { name: "k", obj: { k: "v" } })).toBe("v");
    expect(() => run({ $getField: { field: "$name", input: "$obj" } }, { name: 1, obj: {} })).toThrow(
      "$getField requires 'field' to evaluate to type String, but got int",
    );
  });

  it("rejects non-object inputs and unknown arguments", () => {
    expect(() => run({ $getField: { field: "a", input: 5 } })).toThrow(
      "requires 'input' to evaluate to type Object",
    );
    expect(() => run({ $getField: { field: "a", inpt: 5 } })).toThrow("e.$getField: unknown argument 'inpt'");
  });
});

describe("$setField and $unsetField", () => {
  it("returns a copy with one field set or removed", () => {
    const doc = { a: 1, b: 2 };
    expect(run({ $setField: { field: "c", input: "$$ROOT", value: 3 } }, doc)).toEqual({ a: 1, b: 2, c: 3 });
    expect(run({ $setField: { field: "a", input: "$$ROOT", value: "$$REMOVE" } }, doc)).toEqual({ b: 2 });
    expect(run({ $setField: { field: { $literal: "$x" }, input: {}, value: 1 } })).toEqual({ $x: 1 });
    expect(run({ $unsetField: { field: "a", input: "$$ROOT" } }, doc)).toEqual({ b: 2 });
    expect(doc).toEqual({ a: 1, b: 2 });
  });

  it("keeps field order when replacing", () => {
    expect(Object.keys(run({ $setField: { field: "a", input: { a: 1, b: 2 }, value: 9 } }) as Doc)).toEqual([
      "a",
      "b",
    ]);
  });

  it("returns null for a null input and validates arguments", () => {
    expect(run({ $unsetField: { field: "a", input: null } })).toBeNull();
    expect(() => run({ $setField: { field: "$a", input: {}, value: 1 } })).toThrow(
      "e.$setField.field: requires 'field' to evaluate to a constant of type string",
    );
    expect(() => run({ $setField: { field: "a", input: {} } })).toThrow("missing required argument 'value'");
    expect(() => run({ $setField: { field: "a", input: [1], value: 1 } })).toThrow(
      "requires 'input' to evaluate to type Object",
    );
  });
});

import { Binary, Code, UUID } from "bson";
import { describe, expect, it } from "vitest";
import { compileExpression, MqlRuntimeError } from "../../../src/mql/index.ts";
import type { Doc, Vars } from "../../../src/mql/types.ts";

const run = (expr: unknown, doc: Doc = {}, vars: Vars = {}): unknown =>
  compileExpression(expr, { path: "e" })(doc, vars);

describe("$meta", () => {
  const doc = { _stream_meta: { source: { type: "kafka", topic: "t", partition: 2 } } };

  it("reads the engine's per-document stream metadata", () => {
    const meta = { source: { topic: "from-vars" }, coll: "c1" };
    expect(run({ $meta: "stream" }, doc, { $stream: meta })).toBe(meta);
    expect(run({ $meta: "stream.source.topic" }, doc, { $stream: meta })).toBe("from-vars");
    expect(run({ $meta: "stream.coll" }, {}, { $stream: meta })).toBe("c1");
  });

  it("falls back to _stream_meta in the document", () => {
    expect(run({ $meta: "stream" }, doc)).toBe(doc._stream_meta);
    expect(run({ $meta: "stream.source.partition" }, doc)).toBe(2);
    expect(run({ $meta: "stream.source.partition" }, doc, { $stream: { coll: "x" } })).toBe(2);
    expect(run({ $meta: "stream.window.start" }, doc)).toBeUndefined();
  });

  it("gives other $meta keywords no value and rejects unknown ones", () => {
    expect(run({ $meta: "textScore" })).toBeUndefined();
    expect(() => run({ $meta: "bogus" })).toThrow("e.$meta: Unsupported argument to $meta: bogus");
    expect(() => run({ $meta: "stream..x" })).toThrow("invalid stream metadata path");
    expect(() => run({ $meta: 1 })).toThrow("e.$meta: expects a string keyword");
  });
});

describe("non-deterministic operators", () => {
  it("$currentDate returns a new Date per evaluation", () => {
    const evaluate = compileExpression({ $currentDate: {} });
    const before = Date.now();
    const value = evaluate({}, {}) as Date;
    expect(value).toBeInstanceOf(Date);
    expect(value.getTime()).toBeGreaterThanOrEqual(before);
    expect(evaluate({}, {})).not.toBe(value);
    expect(() => run({ $currentDate: { x: 1 } })).toThrow("e.$currentDate: takes no arguments");
  });

  it("$createUUID returns a fresh UUID (binData subtype 4)", () => {
    const evaluate = compileExpression({ $createUUID: {} });
    const a = evaluate({}, {}) as UUID;
    const b = evaluate({}, {}) as UUID;
    expect(a).toBeInstanceOf(Binary);
    expect(a.sub_type).toBe(4);
    expect(a.toHexString()).not.toBe(b.toHexString());
  });

  it("$rand returns a number in [0, 1)", () => {
    const value = run({ $rand: {} }) as number;
    expect(value).toBeGreaterThanOrEqual(0);
    expect(value).toBeLessThan(1);
  });
});

describe("$function", () => {
  it("calls the JavaScript body with the evaluated args", () => {
    const expr = { $function: { body: "function(a, b) { return a * b + 1; }", args: ["$x", 3], lang: "js" } };
    expect(run(expr, { x: 2 })).toBe(7);
    expect(
      run({ $function: { body: "(s) => s.toUpperCase()", args: ["$s"], lang: "js" } }, { s: "ab" }),
    ).toBe("AB");
    expect(run({ $function: { body: new Code("function() { return 5 }"), args: [], lang: "js" } })).toBe(5);
    expect(run({ $function: { body: "function() {}", args: [], lang: "js" } })).toBeNull();
  });

  it("turns exceptions into runtime errors", () => {
    const expr = { $function: { body: "function(o) { return o.x.y; }", args: ["$missing"], lang: "js" } };
    expect(() => run(expr)).toThrow(MqlRuntimeError);
    expect(() => run(expr)).toThrow(/^\$function: /);
  });

  it("validates the spec at compile time", () => {
    expect(() => run({ $function: { body: "function( {", args: [], lang: "js" } })).toThrow(
      "e.$function.body: 'body' is not valid JavaScript",
    );
    expect(() => run({ $function: { body: "42", args: [], lang: "js" } })).toThrow(
      "'body' must evaluate to a function",
    );
    expect(() => run({ $function: { body: "function(){}", args: [], lang: "python" } })).toThrow(
      "e.$function.lang",
    );
    expect(() => run({ $function: { body: "function(){}", args: 1, lang: "js" } })).toThrow(
      "'args' must be an array",
    );
    expect(() => run({ $function: { body: "function(){}", lang: "js" } })).toThrow(
      "missing required argument 'args'",
    );
  });
});

describe("$binarySize and $bsonSize", () => {
  it("measure strings in UTF-8 bytes and binData in bytes", () => {
    expect(run({ $binarySize: "héllo" })).toBe(6);
    expect(run({ $binarySize: "$b" }, { b: new Binary(Buffer.from([1, 2, 3])) })).toBe(3);
    expect(run({ $binarySize: "$missing" })).toBeNull();
    expect(() => run({ $binarySize: 5 })).toThrow(
      "$binarySize requires a string or BinData argument, found: int",
    );
  });

  it("measures documents as BSON", () => {
    expect(run({ $bsonSize: "$$ROOT" }, { a: 1 })).toBe(12);
    expect(run({ $bsonSize: {} })).toBe(5);
    expect(run({ $bsonSize: null })).toBeNull();
    expect(() => run({ $bsonSize: [[1]] })).toThrow("$bsonSize requires a document input, found: array");
  });
});

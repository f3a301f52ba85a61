// $accumulator (user JavaScript, the $function policy) and the MongoDB 8.1 $concatArrays/$setUnion accumulators.
import { describe, expect, it } from "vitest";
import { compileGroup } from "../../../src/mql/index.ts";
import { MqlCompileError, MqlRuntimeError } from "../../../src/mql/errors.ts";
import { runGroup } from "./run-group.ts";

const docs = [
  { k: "a", items: [1, 2], n: 3 },
  { k: "a", items: [2, 3], n: 4 },
  { k: "b", n: 5 },
  { k: "b", items: [], n: 6 },
];

describe("$accumulator", () => {
  const spec = {
    init: "function(start) { return { count: 0, sum: start } }",
    initArgs: [100],
    accumulate: "function(state, n) { return { count: state.count + 1, sum: state.sum + n } }",
    accumulateArgs: ["$n"],
    merge: "function(a, b) { return { count: a.count + b.count, sum: a.sum + b.sum - 100 } }",
    finalize: "function(state) { return state.sum / state.count }",
    lang: "js",
  };

  it("folds each group with the user's init, accumulate and finalize", () => {
    const group = compileGroup({ _id: "$k", avg: { $accumulator: spec } });
    expect(runGroup(group, docs)).toEqual([
      { _id: "a", avg: (100 + 3 + 4) / 2 },
      { _id: "b", avg: (100 + 5 + 6) / 2 },
    ]);
  });

  it("merges partial states with the user's merge function", () => {
    const group = compileGroup({ _id: null, s: { $accumulator: spec } });
    const acc = group.accumulators[0].spec;
    const left = acc.add(acc.init(), [1]);
    const right = acc.add(acc.init(), [2]);
    expect(acc.result(acc.merge!(left, right))).toBe((100 + 1 + 2) / 2);
  });

  it("returns null when the state or finalize is undefined", () => {
    const group = compileGroup({
      _id: null,
      v: { $accumulator: { ...spec, finalize: "function() {}" } },
    });
    expect(runGroup(group, docs)[0].v).toBeNull();
  });

  it("rejects bad specifications at compile time with their path", () => {
    expect(() => compileGroup({ _id: null, v: { $accumulator: { ...spec, lang: "python" } } })).toThrow(
      '$group.v.$accumulator.lang: $accumulator only supports lang "js"',
    );
    expect(() => compileGroup({ _id: null, v: { $accumulator: { ...spec, merge: 42 } } })).toThrow(
      "$group.v.$accumulator.merge: 'merge' must be a JavaScript function source string",
    );
    expect(() => compileGroup({ _id: null, v: { $accumulator: { ...spec, initArgs: ["$n"] } } })).toThrow(
      MqlCompileError,
    );
    const { merge: _merge, ...noMerge } = spec;
    expect(() => compileGroup({ _id: null, v: { $accumulator: noMerge } })).toThrow(
      "missing required argument 'merge'",
    );
  });

  it("reports a throwing user function as a runtime error", () => {
    const group = compileGroup({
      _id: null,
      v: { $accumulator: { ...spec, accumulate: "function() { throw new Error('boom') }" } },
    });
    expect(() => runGroup(group, docs)).toThrow(MqlRuntimeError);
    expect(() => runGroup(group, docs)).toThrow("$accumulator accumulate: boom");
  });
});

describe("$concatArrays and $setUnion accumulators (MongoDB 8.1)", () => {
  it("$concatArrays concatenates the arrays in arrival order and skips missing", () => {
    const group = compileGroup({ _id: "$k", all: { $concatArrays: "$items" } });
    expect(runGroup(group, docs)).toEqual([
      { _id: "a", all: [1, 2, 2, 3] },
      { _id: "b", all: [] },
    ]);
  });

  it("$setUnion keeps each distinct element once", () => {
    const group = compileGroup({ _id: "$k", set: { $setUnion: "$items" } });
    const [a, b] = runGroup(group, docs);
    expect([...(a.set as number[])].sort()).toEqual([1, 2, 3]);
    expect(b.set).toEqual([]);
  });

  it("a non-array input, null included, is a TypeMismatch", () => {
    for (const op of ["$concatArrays", "$setUnion"]) {
      const group = compileGroup({ _id: null, v: { [op]: "$items" } });
      try {
        runGroup(group, [{ items: null }]);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(MqlRuntimeError);
        expect((err as MqlRuntimeError).code).toBe(14);
        expect((err as Error).message).toBe(`${op} requires array inputs, but input null is of type null`);
      }
    }
  });
});

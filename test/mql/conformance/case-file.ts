// The MongoDB conformance case file (mongodb-cases.json): decoding, running a case, comparing with MongoDB.
import { readFileSync } from "node:fs";
import { Decimal128, Double, EJSON, Int32, Long } from "bson";
import { compareValues } from "../../../src/mql/compare.ts";
import { bsonTypeOf, isPlainObject } from "../../../src/mql/bson-types.ts";
import { MqlCompileError, MqlRuntimeError } from "../../../src/mql/errors.ts";
import { compileExpression, compileGroup } from "../../../src/mql/index.ts";
import type { Doc } from "../../../src/mql/types.ts";

/** Where a case was harvested from. */
export interface Provenance {
  readonly repository: string;
  readonly path: string;
  readonly commit: string;
}

/**
 * One case: an expression evaluated against `doc`, or a `$group` accumulator folded over `docs`. MongoDB's
 * answer is `result` (missing is `{"$missing": true}`) or `error` (its code, or null when the test only
 * asserts a failure). `mingo` says how mingo, the second oracle, differs (MongoDB wins); `eddy` names a
 * known, documented difference of Eddy's.
 */
export interface ConformanceCase {
  readonly id: number;
  readonly source: Provenance;
  readonly expr?: unknown;
  readonly doc?: Doc;
  readonly accumulator?: Record<string, unknown>;
  readonly docs?: readonly Doc[];
  readonly result?: unknown;
  readonly error?: number | null;
  readonly tolerance?: number;
  readonly unordered?: boolean;
  readonly note?: string;
  readonly mingo?: string;
  readonly eddy?: string;
}

const NUMBER_WRAPPERS: Readonly<Record<string, (text: string) => unknown>> = {
  $numberInt: (t) => new Int32(Number(t)),
  $numberLong: (t) => Long.fromString(t),
  $numberDouble: (t) => new Double(Number(t)),
  $numberDecimal: (t) => Decimal128.fromString(t),
};
const EJSON_WRAPPERS = new Set([
  "$date",
  "$oid",
  "$binary",
  "$uuid",
  "$regularExpression",
  "$timestamp",
  "$minKey",
  "$maxKey",
  "$code",
  "$symbol",
  "$undefined",
]);

/** Decodes the file's Extended JSON: plain numbers stay JS numbers, every typed number keeps its bson type. */
export function decodeCaseValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeCaseValue);
  if (!isPlainObject(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const [key] = keys;
    if (key === "$missing") return undefined;
    const number = NUMBER_WRAPPERS[key];
    if (number) return number(value[key] as string);
    if (EJSON_WRAPPERS.has(key)) return EJSON.deserialize(value, { relaxed: false });
  }
  const out: Doc = {};
  for (const key of keys) out[key] = decodeCaseValue(value[key]);
  return out;
}

export function loadCases(url: URL): ConformanceCase[] {
  const file = JSON.parse(readFileSync(url, "utf8")) as { cases: Array<Record<string, unknown>> };
  return file.cases.map((raw) => {
    const { source, ...rest } = raw;
    return { source, ...(decodeCaseValue(rest) as object) } as ConformanceCase;
  });
}

/** What an engine did with a case. */
export type Outcome =
  { readonly value: unknown } | { readonly error: string; readonly code: number | undefined };

function failure(err: unknown): Outcome {
  if (err instanceof MqlRuntimeError) return { error: err.message, code: err.code };
  if (err instanceof MqlCompileError) return { error: err.message, code: undefined };
  throw err; // anything else is a crash, never an answer
}

/** Runs a case through Eddy: compile errors and runtime errors are both failures. */
export function eddyOutcome(c: ConformanceCase): Outcome {
  try {
    if (c.accumulator) {
      const group = compileGroup({ _id: null, value: c.accumulator });
      const states = group.initStates();
      for (const doc of c.docs ?? []) group.accumulate(states, doc, {});
      return { value: group.accumulators[0].spec.result(states[0]) };
    }
    return { value: compileExpression(c.expr, { path: "expr" })(c.doc ?? {}, {}) };
  } catch (err) {
    return failure(err);
  }
}

/** Why `outcome` is not MongoDB's answer, or undefined when it is. */
export function differenceFromMongo(c: ConformanceCase, outcome: Outcome): string | undefined {
  if ("error" in c) {
    if (!("error" in outcome)) return `expected error ${c.error ?? "(any code)"}, got ${show(outcome.value)}`;
    if (c.error !== null && outcome.code !== undefined && outcome.code !== c.error)
      return `expected error code ${c.error}, got ${outcome.code} (${outcome.error})`;
    return undefined;
  }
  if ("error" in outcome) return `expected ${show(c.result)}, got error ${outcome.error}`;
  return sameValue(c.result, outcome.value, c)
    ? undefined
    : `expected ${show(c.result)}, got ${show(outcome.value)}`;
}

function numeric(v: unknown): boolean {
  const t = bsonTypeOf(v);
  return t === "int" || t === "long" || t === "double" || t === "decimal";
}

/**
 * MongoDB's value equality with the checks its tests make: numbers by value (NaN equals NaN), a Decimal128
 * expected must come back as a Decimal128 and a long as a long or an integral number; `tolerance` allows a
 * relative error (the jstests' `assert.close`).
 */
export function sameValue(
  expected: unknown,
  actual: unknown,
  c: Pick<ConformanceCase, "tolerance" | "unordered">,
): boolean {
  if (numeric(expected)) {
    if (!numeric(actual)) return false;
    const te = bsonTypeOf(expected);
    const ta = bsonTypeOf(actual);
    if (te === "decimal" && ta !== "decimal") return false;
    if (te === "long" && ta !== "long" && ta !== "int") return false;
    if (compareValues(expected, actual) === 0) return true;
    if (c.tolerance === undefined) return false;
    const e = Number(String(expected instanceof Decimal128 ? expected.toString() : toNumber(expected)));
    const a = Number(String(actual instanceof Decimal128 ? actual.toString() : toNumber(actual)));
    return Math.abs(e - a) <= c.tolerance * Math.max(1, Math.abs(e));
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return false;
    if (!c.unordered) return expected.every((x, i) => sameValue(x, actual[i], c));
    const left = [...actual];
    return expected.every((x) => {
      const at = left.findIndex((y) => sameValue(x, y, c));
      return at >= 0 && left.splice(at, 1).length === 1;
    });
  }
  if (isPlainObject(expected)) {
    if (!isPlainObject(actual)) return false;
    const ke = Object.keys(expected).filter((k) => expected[k] !== undefined);
    const ka = Object.keys(actual).filter((k) => actual[k] !== undefined);
    return ke.length === ka.length && ke.every((k, i) => ka[i] === k && sameValue(expected[k], actual[k], c));
  }
  if (expected === undefined || actual === undefined) return expected === actual;
  return bsonTypeOf(expected) === bsonTypeOf(actual) && compareValues(expected, actual) === 0;
}

function toNumber(v: unknown): number {
  if (typeof v === "number") return v;
  if (v instanceof Long) return v.toNumber();
  return (v as { value: number }).value;
}

/** A short rendering for failure messages. */
export function show(value: unknown): string {
  if (value === undefined) return "missing";
  try {
    return EJSON.stringify(value as never, { relaxed: true });
  } catch {
    return String(value);
  }
}

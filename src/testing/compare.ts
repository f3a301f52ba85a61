/**
 * Expected vs actual documents for `sp test`: exact or subset matching with ignored fields, in order or in
 * any order, and the differences as readable lines (JSON path, expected, got).
 */
import { stringifyExtendedJson } from "../codec/ejson.ts";
import { isPlainObject, valuesEqual, type Doc } from "../mql/index.ts";
import type { Expectation } from "./test-case.ts";

/** Fields the runtime adds to every output; compared only when the expected document names them. */
export const RUNTIME_FIELDS: readonly string[] = ["_ts", "_stream_meta"];

/** One difference inside a document. */
export interface FieldDifference {
  readonly path: string;
  readonly expected: unknown;
  readonly actual: unknown;
}

/** One problem with a list of documents. */
export type ListProblem =
  | {
      readonly kind: "different";
      readonly index: number;
      readonly differences: readonly FieldDifference[];
      readonly actual: Doc;
    }
  | { readonly kind: "missing"; readonly index: number; readonly expected: Doc }
  | { readonly kind: "unexpected"; readonly index: number; readonly actual: Doc };

const ABSENT = Symbol("absent");

/** True when every field of `expected` is in `actual` with an equal value (nested documents likewise). */
export function isSubset(expected: Doc, actual: Doc): boolean {
  return differences(expected, actual, "subset", "").length === 0;
}

/** Compares the documents a case produced with what it expects; empty when they match. */
export function compareList(
  expectation: Expectation,
  actual: readonly Doc[],
  runtimeFields: boolean,
): ListProblem[] {
  const prepare = (expected: Doc, doc: Doc): [Doc, Doc] => {
    const ignored = [...expectation.ignoreFields];
    if (runtimeFields) for (const field of RUNTIME_FIELDS) if (!(field in expected)) ignored.push(field);
    return [withoutFields(expected, ignored), withoutFields(doc, ignored)];
  };
  const diff = (expected: Doc, doc: Doc): FieldDifference[] => {
    const [e, a] = prepare(expected, doc);
    return differences(e, a, expectation.match, "");
  };
  const expected = expectation.docs;
  const problems: ListProblem[] = [];
  if (expectation.ordered) {
    for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
      if (i >= actual.length) problems.push({ kind: "missing", index: i, expected: expected[i] });
      else if (i >= expected.length) problems.push({ kind: "unexpected", index: i, actual: actual[i] });
      else {
        const found = diff(expected[i], actual[i]);
        if (found.length > 0)
          problems.push({ kind: "different", index: i, differences: found, actual: actual[i] });
      }
    }
    return problems;
  }
  const used = new Set<number>();
  const unmatched: number[] = [];
  expected.forEach((doc, i) => {
    const at = actual.findIndex((candidate, j) => !used.has(j) && diff(doc, candidate).length === 0);
    if (at === -1) unmatched.push(i);
    else used.add(at);
  });
  // What is left on both sides is paired in order, so a near miss shows its differing fields.
  const left = actual.map((_, j) => j).filter((j) => !used.has(j));
  unmatched.forEach((i, n) => {
    const j = left[n];
    if (j === undefined) problems.push({ kind: "missing", index: i, expected: expected[i] });
    else
      problems.push({
        kind: "different",
        index: i,
        differences: diff(expected[i], actual[j]),
        actual: actual[j],
      });
  });
  for (const j of left.slice(unmatched.length))
    problems.push({ kind: "unexpected", index: j, actual: actual[j] });
  return problems;
}

function differences(
  expected: unknown,
  actual: unknown,
  match: "exact" | "subset",
  path: string,
): FieldDifference[] {
  if (isPlainObject(expected) && isPlainObject(actual)) {
    const out: FieldDifference[] = [];
    for (const [key, value] of Object.entries(expected)) {
      const at = path === "" ? key : `${path}.${key}`;
      if (!(key in actual)) out.push({ path: at, expected: value, actual: ABSENT });
      else out.push(...differences(value, actual[key], match, at));
    }
    if (match === "exact")
      for (const [key, value] of Object.entries(actual))
        if (!(key in expected))
          out.push({ path: path === "" ? key : `${path}.${key}`, expected: ABSENT, actual: value });
    return out;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length) return [{ path, expected, actual }];
    return expected.flatMap((value, i) => differences(value, actual[i], match, `${path}[${i}]`));
  }
  if (isPlainObject(expected) || isPlainObject(actual) || Array.isArray(expected) || Array.isArray(actual))
    return [{ path, expected, actual }];
  return valuesEqual(expected, actual) ? [] : [{ path, expected, actual }];
}

/** A copy without the dotted `fields`. */
function withoutFields(doc: Doc, fields: readonly string[]): Doc {
  if (fields.length === 0) return doc;
  const copy = structuredClone(doc);
  for (const field of fields) {
    const parts = field.split(".");
    let target: unknown = copy;
    for (const part of parts.slice(0, -1)) target = isPlainObject(target) ? target[part] : undefined;
    if (isPlainObject(target)) delete target[parts[parts.length - 1]];
  }
  return copy;
}

/** The problems as indented lines: `output[1].avg: expected 12.5, got 12`. */
export function formatProblems(
  label: string,
  problems: readonly ListProblem[],
  actualCount: number,
  expectedCount: number,
): string[] {
  const lines: string[] = [];
  if (actualCount !== expectedCount)
    lines.push(`${label}: expected ${expectedCount} documents, got ${actualCount}`);
  for (const problem of problems) {
    const at = `${label}[${problem.index}]`;
    if (problem.kind === "missing") lines.push(`${at}: missing, expected ${show(problem.expected)}`);
    else if (problem.kind === "unexpected") lines.push(`${at}: unexpected ${show(problem.actual)}`);
    else {
      for (const d of problem.differences) {
        const where = d.path === "" ? at : `${at}.${d.path}`;
        if (d.actual === ABSENT)
          lines.push(`${where}: expected ${show(d.expected)}, but the field is missing`);
        else if (d.expected === ABSENT) lines.push(`${where}: not expected, got ${show(d.actual)}`);
        else lines.push(`${where}: expected ${show(d.expected)}, got ${show(d.actual)}`);
      }
      lines.push(`  actual ${at}: ${show(problem.actual)}`);
    }
  }
  return lines;
}

/** Relaxed Extended JSON, one line. */
export function show(value: unknown): string {
  return value === undefined ? "nothing" : stringifyExtendedJson(value);
}

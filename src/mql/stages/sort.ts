import { isNumber, isPlainObject, toJsNumber } from "../bson-types.ts";
import { compareValues } from "../compare.ts";
import { MqlCompileError } from "../errors.ts";
import type { CompileOptions, Doc } from "../types.ts";
import { childPath, splitFieldPath } from "./field-name.ts";

export type DocComparator = (a: Doc, b: Doc) => number;

/**
 * Compiles a `$sort` spec `{field: 1 | -1, …}` into a comparator with MongoDB's order: BSON type order,
 * missing sorts as null, an array sorts by its smallest element ascending and its largest descending (an
 * empty array before null). Ties compare equal, so a stable sort keeps arrival order.
 */
export function compileSort(spec: unknown, options: CompileOptions = {}): DocComparator {
  const path = options.path ?? "$sort";
  if (!isPlainObject(spec)) throw new MqlCompileError(path, "the $sort key specification must be an object");
  const fields = Object.keys(spec);
  if (fields.length === 0) throw new MqlCompileError(path, "$sort stage must have at least one sort key");
  const keys = fields.map((field) => {
    const keyPath = childPath(path, field);
    const parts = splitFieldPath(field, keyPath, "$sort");
    const direction = spec[field];
    if (isPlainObject(direction) && "$meta" in direction) {
      throw new MqlCompileError(
        keyPath,
        `$sort by {$meta: ${JSON.stringify(direction.$meta)}} is not supported in stream processing`,
      );
    }
    const n = isNumber(direction) ? toJsNumber(direction) : NaN;
    if (n !== 1 && n !== -1)
      throw new MqlCompileError(
        keyPath,
        "$sort key ordering must be 1 (for ascending) or -1 (for descending)",
      );
    return { read: sortKeyReader(parts, n === 1), direction: n };
  });
  if (keys.length === 1) {
    const [{ read, direction }] = keys;
    return (a, b) => direction * compareValues(read(a), read(b));
  }
  return (a, b) => {
    for (const { read, direction } of keys) {
      const c = compareValues(read(a), read(b));
      if (c !== 0) return direction * c;
    }
    return 0;
  };
}

/** Checks a `$limit` argument (a positive integer) and returns it as a JS number. */
export function validateLimit(spec: unknown, options: CompileOptions = {}): number {
  const path = options.path ?? "$limit";
  const n = isNumber(spec) ? toJsNumber(spec) : NaN;
  if (!Number.isInteger(n))
    throw new MqlCompileError(
      path,
      `invalid argument to $limit stage: expected a number, got ${JSON.stringify(spec)}`,
    );
  if (n <= 0) throw new MqlCompileError(path, `the limit must be positive`);
  return n;
}

/** The value a document sorts by for one key: missing → null, arrays → their min (asc) or max (desc). */
function sortKeyReader(parts: readonly string[], ascending: boolean): (doc: Doc) => unknown {
  const pick = (candidates: unknown[]): unknown => {
    let best = candidates[0];
    for (let i = 1; i < candidates.length; i++) {
      const c = compareValues(candidates[i], best);
      if (ascending ? c < 0 : c > 0) best = candidates[i];
    }
    return best;
  };
  const slow = (doc: Doc): unknown => {
    const candidates: unknown[] = [];
    collect(doc, parts, 0, candidates);
    return candidates.length === 0 ? null : pick(candidates);
  };
  if (parts.length === 1) {
    const [field] = parts;
    return (doc) => {
      const value = doc[field];
      if (value === undefined) return null;
      return Array.isArray(value) ? slow(doc) : value;
    };
  }
  return slow;
}

/**
 * Collects the candidate sort values along a path, expanding arrays as MongoDB's sort key generator does.
 * An empty array at the end of the path contributes `undefined`, which sorts before null.
 */
function collect(value: unknown, parts: readonly string[], i: number, out: unknown[]): void {
  if (i === parts.length) {
    if (!Array.isArray(value)) out.push(value === undefined ? null : value);
    else if (value.length === 0) out.push(undefined);
    else for (const element of value) out.push(element);
    return;
  }
  if (isPlainObject(value)) {
    collect(value[parts[i]], parts, i + 1, out);
  } else if (Array.isArray(value)) {
    const before = out.length;
    const part = parts[i];
    for (const element of value) if (isPlainObject(element)) collect(element[part], parts, i + 1, out);
    if (/^\d+$/.test(part) && Number(part) < value.length) collect(value[Number(part)], parts, i + 1, out);
    if (out.length === before) out.push(null);
  } else {
    out.push(null);
  }
}

import { isPlainObject } from "../bson-types.ts";
import type { Doc } from "../types.ts";

/** Reads a dotted path with aggregation semantics, starting at `value` (already the first component's value). */
export type PathReader = (value: unknown) => unknown;

/**
 * `isPlainObject` with a fast first test: object literals and JSON-parsed objects have `Object.prototype`
 * as prototype, which Dates, RegExps, arrays and `bson` values never do. This skips the `_bsontype` probe
 * (a property miss up the prototype chain) on the per-event hot path.
 */
function isDocument(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  return Object.getPrototypeOf(value) === Object.prototype || isPlainObject(value);
}

/**
 * Compiles the aggregation field-path walk (`ExpressionFieldPath::evaluatePath`): objects are descended,
 * arrays are mapped element by element (non-object elements are skipped, missing results dropped), anything
 * else yields missing. Numeric components are field names, never array indexes.
 */
export function compilePathReader(parts: readonly string[]): (obj: unknown) => unknown {
  if (parts.length === 1) {
    const [a] = parts;
    return (obj) => (isDocument(obj) ? obj[a] : Array.isArray(obj) ? mapArray(obj, parts, 0) : undefined);
  }
  return (obj) => {
    if (isDocument(obj)) return readFrom(obj[parts[0]], parts, 1);
    return Array.isArray(obj) ? mapArray(obj, parts, 0) : undefined;
  };
}

/**
 * The same walk starting at a document known to be one (the root of an evaluation), specialised for the
 * two- and three-component paths that dominate real pipelines (`$obs.watts`).
 */
export function compileRootPathReader(parts: readonly string[]): (root: Doc) => unknown {
  if (parts.length === 1) {
    const [a] = parts;
    return (root) => root[a];
  }
  if (parts.length === 2) {
    const [a, b] = parts;
    return (root) => {
      const v = root[a];
      if (typeof v !== "object" || v === null) return undefined;
      if (isDocument(v)) return v[b];
      return Array.isArray(v) ? mapArray(v, parts, 1) : undefined;
    };
  }
  if (parts.length === 3) {
    const [a, b, c] = parts;
    return (root) => {
      const v = root[a];
      if (typeof v !== "object" || v === null) return undefined;
      if (!isDocument(v)) return Array.isArray(v) ? mapArray(v, parts, 1) : undefined;
      const w = v[b];
      if (typeof w !== "object" || w === null) return undefined;
      if (isDocument(w)) return w[c];
      return Array.isArray(w) ? mapArray(w, parts, 2) : undefined;
    };
  }
  return (root) => readFrom(root[parts[0]], parts, 1);
}

/** Continues a walk at `parts[index]` given the value reached so far. */
function readFrom(value: unknown, parts: readonly string[], index: number): unknown {
  let current = value;
  for (let i = index; i < parts.length; i++) {
    if (Array.isArray(current)) return mapArray(current, parts, i);
    if (!isDocument(current)) return undefined;
    current = current[parts[i]];
  }
  return current;
}

function mapArray(array: readonly unknown[], parts: readonly string[], index: number): unknown[] {
  const out: unknown[] = [];
  for (const element of array) {
    if (!isDocument(element)) continue;
    const nested = readFrom(element[parts[index]], parts, index + 1);
    if (nested !== undefined) out.push(nested);
  }
  return out;
}

import { isPlainObject } from "../bson-types.ts";

/** Reads a dotted path with aggregation semantics, starting at `value` (already the first component's value). */
export type PathReader = (value: unknown) => unknown;

/**
 * Compiles the aggregation field-path walk (`ExpressionFieldPath::evaluatePath`): objects are descended,
 * arrays are mapped element by element (non-object elements are skipped, missing results dropped), anything
 * else yields missing. Numeric components are field names, never array indexes.
 */
export function compilePathReader(parts: readonly string[]): (obj: unknown) => unknown {
  if (parts.length === 1) {
    const [a] = parts;
    return (obj) => (isPlainObject(obj) ? obj[a] : Array.isArray(obj) ? mapArray(obj, parts, 0) : undefined);
  }
  if (parts.length === 2) {
    const [a, b] = parts;
    return (obj) => {
      if (!isPlainObject(obj)) return Array.isArray(obj) ? mapArray(obj, parts, 0) : undefined;
      const v = obj[a];
      if (typeof v !== "object" || v === null) return undefined;
      if (Array.isArray(v)) return mapArray(v, parts, 1);
      return isPlainObject(v) ? v[b] : undefined;
    };
  }
  return (obj) => walk(obj, parts, 0);
}

function walk(value: unknown, parts: readonly string[], index: number): unknown {
  let current = value;
  for (let i = index; i < parts.length; i++) {
    if (Array.isArray(current)) return mapArray(current, parts, i);
    if (!isPlainObject(current)) return undefined;
    current = current[parts[i]];
  }
  return current;
}

function mapArray(array: readonly unknown[], parts: readonly string[], index: number): unknown[] {
  const out: unknown[] = [];
  for (const element of array) {
    if (!isPlainObject(element)) continue;
    const nested = walk(element, parts, index);
    if (nested !== undefined) out.push(nested);
  }
  return out;
}

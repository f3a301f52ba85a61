import { isPlainObject } from "../bson-types.ts";
import { generateFunction, literal } from "../codegen.ts";
import { isInheritedName } from "../query/path.ts";
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
  return generatePathReader(parts, false) ?? closurePathReader(parts);
}

/**
 * The same walk starting at a document known to be one (the root of an evaluation). Generated per path
 * (see `codegen.ts`), so each reader's property loads stay monomorphic.
 */
export function compileRootPathReader(parts: readonly string[]): (root: Doc) => unknown {
  return generatePathReader(parts, true) ?? closureRootPathReader(parts);
}

/**
 * Source of the walk: one named load per component while the values are documents, the array mapping
 * (`mapArray`) from the first array on, missing at anything else.
 */
function generatePathReader(
  parts: readonly string[],
  fromRoot: boolean,
): ((obj: unknown) => unknown) | undefined {
  // Each component's load comes before the document test: its inline cache proves the map, which lets the
  // optimiser fold `Object.getPrototypeOf` to a constant.
  let body = fromRoot ? `let v = ${readField("root", parts[0])};\n` : "let v = root;\n";
  for (let i = fromRoot ? 1 : 0; i < parts.length; i++) {
    body +=
      `if (typeof v !== "object" || v === null) return undefined;\n` +
      `w = ${readField("v", parts[i])};\n` +
      `if (Object.getPrototypeOf(v) !== OBJECT_PROTOTYPE && !isPlainObject(v))\n` +
      `  return Array.isArray(v) ? mapArray(v, parts, ${i}) : undefined;\n` +
      `v = w;\n`;
  }
  body += "return v;";
  return generateFunction(
    { OBJECT_PROTOTYPE: Object.prototype, isPlainObject, mapArray, parts },
    `return function readPath(root) {\nlet w;\n${body}\n};`,
  );
}

/** Source reading field `name` of the document in variable `v`: inherited names only as own properties. */
function readField(v: string, name: string): string {
  const key = literal(name);
  return isInheritedName(name) ? `(Object.hasOwn(${v}, ${key}) ? ${v}[${key}] : undefined)` : `${v}[${key}]`;
}

/** Field `name` of a document; names every object inherits (`constructor`, `toString`…) only as own fields. */
function fieldOf(doc: Record<string, unknown>, name: string): unknown {
  return isInheritedName(name) && !Object.hasOwn(doc, name) ? undefined : doc[name];
}

function closurePathReader(parts: readonly string[]): (obj: unknown) => unknown {
  return (obj) => {
    if (isDocument(obj)) return readFrom(fieldOf(obj, parts[0]), parts, 1);
    return Array.isArray(obj) ? mapArray(obj, parts, 0) : undefined;
  };
}

function closureRootPathReader(parts: readonly string[]): (root: Doc) => unknown {
  return (root) => readFrom(fieldOf(root, parts[0]), parts, 1);
}

/** Continues a walk at `parts[index]` given the value reached so far. */
function readFrom(value: unknown, parts: readonly string[], index: number): unknown {
  let current = value;
  for (let i = index; i < parts.length; i++) {
    if (Array.isArray(current)) return mapArray(current, parts, i);
    if (!isDocument(current)) return undefined;
    current = fieldOf(current, parts[i]);
  }
  return current;
}

function mapArray(array: readonly unknown[], parts: readonly string[], index: number): unknown[] {
  const out: unknown[] = [];
  for (const element of array) {
    if (!isDocument(element)) continue;
    const nested = readFrom(fieldOf(element, parts[index]), parts, index + 1);
    if (nested !== undefined) out.push(nested);
  }
  return out;
}

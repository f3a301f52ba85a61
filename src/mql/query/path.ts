import { isPlainObject } from "../bson-types.ts";
import type { Doc } from "../types.ts";

/** A test of one value found along a path (undefined = missing). */
export type ValueTest = (value: unknown) => boolean;

/** Tests whether any value a dotted path yields in a document passes. */
export type PathTest = (doc: Doc) => boolean;

/**
 * What a path ending at an array yields: `traverse` yields every element and then the array itself
 * (comparisons, $type, $exists, $regex…); `whole` yields only the array ($elemMatch, $size).
 */
export type LeafArrays = "traverse" | "whole";

interface CompiledPath {
  readonly parts: readonly string[];
  /** Per component: whether it names an inherited property, so reads must check own properties. */
  readonly inherited: readonly boolean[];
  /** Array index named by each component ("0", "12"), or -1 when the component is not a canonical index. */
  readonly offsets: readonly number[];
  readonly test: ValueTest;
  readonly whole: boolean;
}

/** Field names that plain objects inherit: reading them must check own properties. */
export function isInheritedName(name: string): boolean {
  return name in Object.prototype;
}

/** A document to descend into: plain objects first (the common case), then what the core counts as one. */
function isDocument(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null || isPlainObject(value);
}

/**
 * Compiles MongoDB's path iteration (`BSONElementIterator`): objects are descended; an array on the way
 * yields, for each object element, the rest of the path inside it, and for the element at a numeric
 * component ("a.0.b") that element; nested arrays are only entered through such an index; a scalar
 * on the way yields missing, except inside an array, where it yields nothing.
 */
export function compilePathTest(path: string, test: ValueTest, leaf: LeafArrays): PathTest {
  const parts = path.split(".");
  const whole = leaf === "whole";
  if (parts.length === 1 && !isInheritedName(path)) {
    const field = path;
    if (whole) return (doc) => test(doc[field]);
    return (doc) => {
      const v = doc[field];
      return Array.isArray(v) ? anyElementOrArray(v, test) : test(v);
    };
  }
  const offsets = parts.map((p) => (/^\d+$/.test(p) && String(Number(p)) === p ? Number(p) : -1));
  const inherited = parts.map(isInheritedName);
  const compiled: CompiledPath = { parts, inherited, offsets, test, whole };
  if (parts.length === 2 && !inherited.some(Boolean)) {
    // "a.b": two monomorphic property reads while no array is in the way.
    const [a, b] = parts;
    return (doc) => {
      const v = doc[a];
      if (Array.isArray(v)) return fromArray(v, 1, compiled);
      if (!isDocument(v)) return test(undefined);
      const w = v[b];
      return Array.isArray(w) ? fromArray(w, 2, compiled) : test(w);
    };
  }
  return (doc) => fromObject(doc, 0, compiled);
}

function anyElementOrArray(array: readonly unknown[], test: ValueTest): boolean {
  for (let i = 0; i < array.length; i++) if (test(array[i])) return true;
  return test(array);
}

/** `getFieldDottedOrArray` from `obj` at component `index`, then iteration of the array it stops at. */
function fromObject(obj: Record<string, unknown>, index: number, p: CompiledPath): boolean {
  const last = p.parts.length - 1;
  let current = obj;
  for (let i = index; ; i++) {
    const key = p.parts[i];
    const v = p.inherited[i] && !Object.hasOwn(current, key) ? undefined : current[key];
    if (Array.isArray(v)) return fromArray(v, i + 1, p);
    if (i === last) return p.test(v);
    if (!isDocument(v)) return p.test(undefined);
    current = v;
  }
}

function fromArray(array: readonly unknown[], next: number, p: CompiledPath): boolean {
  const n = p.parts.length;
  if (next === n) return p.whole ? p.test(array) : anyElementOrArray(array, p.test);
  const offset = p.offsets[next];
  const endsAtOffset = next === n - 1;
  for (let k = 0; k < array.length; k++) {
    const element = array[k];
    if (isDocument(element)) {
      if (fromObject(element, next, p)) return true;
      if (k === offset && (endsAtOffset ? p.test(element) : fromObject(element, next + 1, p))) return true;
    } else if (k === offset) {
      if (endsAtOffset) {
        if (p.test(element)) return true;
      } else if (Array.isArray(element) && fromArray(element, next + 1, p)) {
        return true;
      }
    }
  }
  return false;
}

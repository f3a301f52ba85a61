/**
 * Field-by-field comparison of the two copies of one document (the trigger-fed and the stream-fed one).
 * Nested documents are compared field by field (dotted paths); arrays as whole values. Numbers compare by
 * value whatever their BSON type; `timeToleranceMs` and `numericTolerance` (a fraction) accept small
 * differences in dates and numbers.
 */
import { bsonTag, isPlainObject } from "../../mql/bson-types.ts";
import type { Doc } from "../../mql/index.ts";

export type DiscrepancyKind = "MISSING_IN_LEFT" | "MISSING_IN_RIGHT" | "TYPE_MISMATCH" | "VALUE_MISMATCH";

export interface Discrepancy {
  readonly key: unknown;
  readonly kind: DiscrepancyKind;
  /** The field, for TYPE_MISMATCH and VALUE_MISMATCH. */
  readonly field?: string;
  readonly left?: unknown;
  readonly right?: unknown;
}

export interface CompareOptions {
  /** Fields (dotted paths; a prefix covers its subfields) left out of the comparison. */
  readonly ignore: readonly string[];
  readonly timeToleranceMs: number;
  /** 0.01 for 1 %. */
  readonly numericTolerance: number;
}

export function compareDocuments(
  key: unknown,
  left: Doc,
  right: Doc,
  keyFields: readonly string[],
  options: CompareOptions,
): Discrepancy[] {
  const a = flatten(left);
  const b = flatten(right);
  const out: Discrepancy[] = [];
  const fields = new Set([...a.keys(), ...b.keys()]);
  for (const field of fields) {
    if (keyFields.includes(field) || isIgnored(field, options.ignore)) continue;
    const l = a.get(field);
    const r = b.get(field);
    const lType = kindOf(l);
    const rType = kindOf(r);
    if (lType !== rType) out.push({ key, kind: "TYPE_MISMATCH", field, left: l, right: r });
    else if (!sameValue(l, r, lType, options))
      out.push({ key, kind: "VALUE_MISMATCH", field, left: l, right: r });
  }
  return out;
}

function isIgnored(field: string, ignore: readonly string[]): boolean {
  return ignore.some((name) => field === name || field.startsWith(`${name}.`));
}

/** Plain documents become dotted paths; everything else is a leaf. An absent field and null differ. */
function flatten(doc: Doc, prefix = "", out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [name, value] of Object.entries(doc)) {
    const path = prefix === "" ? name : `${prefix}.${name}`;
    if (isPlainObject(value) && bsonTag(value) === undefined && Object.keys(value).length > 0)
      flatten(value, path, out);
    else out.set(path, value);
  }
  return out;
}

type ValueKind =
  | "missing"
  | "null"
  | "number"
  | "string"
  | "bool"
  | "date"
  | "objectId"
  | "array"
  | "object"
  | "binary"
  | "other";

function kindOf(value: unknown): ValueKind {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  switch (typeof value) {
    case "number":
    case "bigint":
      return "number";
    case "string":
      return "string";
    case "boolean":
      return "bool";
  }
  if (value instanceof Date) return "date";
  if (Array.isArray(value)) return "array";
  if (Buffer.isBuffer(value)) return "binary";
  switch (bsonTag(value as object)) {
    case "Int32":
    case "Double":
    case "Long":
    case "Decimal128":
      return "number";
    case "ObjectId":
      return "objectId";
    case "Binary":
      return "binary";
    case undefined:
      return "object";
    default:
      return "other";
  }
}

function sameValue(l: unknown, r: unknown, kind: ValueKind, options: CompareOptions): boolean {
  switch (kind) {
    case "missing":
    case "null":
      return true;
    case "number": {
      const x = Number(String(l));
      const y = Number(String(r));
      if (x === y) return true;
      return Math.abs(x - y) <= options.numericTolerance * Math.max(Math.abs(x), Math.abs(y));
    }
    case "date":
      return Math.abs((l as Date).getTime() - (r as Date).getTime()) <= options.timeToleranceMs;
    case "array": {
      const xs = l as unknown[];
      const ys = r as unknown[];
      return (
        xs.length === ys.length &&
        xs.every((x, i) => kindOf(x) === kindOf(ys[i]) && sameValue(x, ys[i], kindOf(x), options))
      );
    }
    case "object": {
      const xs = Object.entries(l as Doc);
      const y = r as Doc;
      return (
        xs.length === Object.keys(y).length &&
        xs.every(([k, x]) => kindOf(x) === kindOf(y[k]) && sameValue(x, y[k], kindOf(x), options))
      );
    }
    case "binary":
      return Buffer.from(l as Uint8Array).equals(Buffer.from(r as Uint8Array));
    default:
      return String(l) === String(r);
  }
}

/** Replaces the values of `redact` fields (and their subfields) in a discrepancy before it is stored or shown. */
export function redactDiscrepancy(d: Discrepancy, redact: readonly string[]): Discrepancy {
  if (d.field === undefined || !isIgnored(d.field, redact)) return d;
  return {
    ...d,
    left: d.left === undefined ? undefined : "[REDACTED]",
    right: d.right === undefined ? undefined : "[REDACTED]",
  };
}

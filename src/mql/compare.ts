import { Decimal } from "decimal.js";
import type { Binary, Long, ObjectId, Timestamp } from "bson";
import { bsonTag, bsonTypeOf, canonicalRank, toJsNumber, type BsonTypeName } from "./bson-types.ts";

/**
 * MongoDB's total order over BSON values (`BSONElement::compareElements`): first by canonical type rank,
 * then within the type. Returns a negative number, zero or a positive number.
 */
export function compareValues(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return compareDoubles(a, b);
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  const ta = bsonTypeOf(a);
  const tb = bsonTypeOf(b);
  const ra = canonicalRank(ta);
  const rb = canonicalRank(tb);
  if (ra !== rb) return ra < rb ? -1 : 1;
  return compareSameRank(a, b, ta, tb, ra);
}

/** Equality under MongoDB's comparison rules (1 == 1.0 == NumberLong(1) == NumberDecimal("1")). */
export function valuesEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === "number" && typeof b === "number") return a === b || (a !== a && b !== b);
  if (typeof a === "string" || typeof b === "string") return false;
  return compareValues(a, b) === 0;
}

function compareDoubles(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b) return 0;
  // NaN is equal to itself and less than every other number.
  const an = a !== a;
  const bn = b !== b;
  if (an && bn) return 0;
  return an ? -1 : 1;
}

function compareSameRank(a: unknown, b: unknown, ta: BsonTypeName, tb: BsonTypeName, rank: number): number {
  switch (rank) {
    case -1:
    case 0:
    case 5:
    case 127:
      return 0;
    case 10:
      return compareNumbers(a, b, ta, tb);
    case 15:
      return compareStrings(String(a), String(b));
    case 20:
      return compareObjects(a as Record<string, unknown>, b as Record<string, unknown>);
    case 25:
      return compareArrays(a as unknown[], b as unknown[]);
    case 30:
      return compareBinary(a as Binary, b as Binary);
    case 35:
      return compareStrings((a as ObjectId).toHexString(), (b as ObjectId).toHexString());
    case 40:
      return a === b ? 0 : a ? 1 : -1;
    case 45:
      return compareDoubles((a as Date).getTime(), (b as Date).getTime());
    case 47:
      return compareTimestamps(a as Timestamp, b as Timestamp);
    case 50:
      return compareRegex(a, b);
    default:
      return compareStrings(String(a), String(b));
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compares two numeric values of any BSON numeric type exactly. */
export function compareNumbers(a: unknown, b: unknown, ta = bsonTypeOf(a), tb = bsonTypeOf(b)): number {
  if (ta === "decimal" || tb === "decimal") return compareDecimals(a, b);
  if (ta === "long" || tb === "long") {
    const ba = exactInteger(a);
    const bb = exactInteger(b);
    if (ba !== undefined && bb !== undefined) return ba < bb ? -1 : ba > bb ? 1 : 0;
  }
  return compareDoubles(toJsNumber(a), toJsNumber(b));
}

function exactInteger(value: unknown): bigint | undefined {
  if (typeof value === "number") return Number.isInteger(value) ? BigInt(value) : undefined;
  if (typeof value === "bigint") return value;
  if (typeof value === "object" && value !== null && bsonTag(value) === "Long")
    return (value as Long).toBigInt();
  return undefined;
}

/** Converts any numeric value to a `decimal.js` Decimal (exact for every BSON numeric type). */
export function toDecimal(value: unknown): Decimal {
  if (typeof value === "number") return new Decimal(value);
  if (typeof value === "bigint") return new Decimal(value.toString());
  const tag = typeof value === "object" && value !== null ? bsonTag(value) : undefined;
  if (tag === "Long") return new Decimal((value as Long).toString());
  if (tag === "Decimal128") {
    const text = String(value);
    if (text === "NaN" || text === "-NaN") return new Decimal(NaN);
    if (text === "Infinity" || text === "-Infinity")
      return new Decimal(text === "Infinity" ? Infinity : -Infinity);
    return new Decimal(text);
  }
  return new Decimal(toJsNumber(value));
}

function compareDecimals(a: unknown, b: unknown): number {
  const da = toDecimal(a);
  const db = toDecimal(b);
  const an = da.isNaN();
  const bn = db.isNaN();
  if (an || bn) return an && bn ? 0 : an ? -1 : 1;
  return da.comparedTo(db);
}

function compareObjects(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const va = a[ka[i]];
    const vb = b[kb[i]];
    const rankDiff = canonicalRank(bsonTypeOf(va)) - canonicalRank(bsonTypeOf(vb));
    if (rankDiff !== 0) return rankDiff < 0 ? -1 : 1;
    const nameDiff = compareStrings(ka[i], kb[i]);
    if (nameDiff !== 0) return nameDiff;
    const valueDiff = compareValues(va, vb);
    if (valueDiff !== 0) return valueDiff;
  }
  return ka.length === kb.length ? 0 : ka.length < kb.length ? -1 : 1;
}

function compareArrays(a: unknown[], b: unknown[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const rankDiff = canonicalRank(bsonTypeOf(a[i])) - canonicalRank(bsonTypeOf(b[i]));
    if (rankDiff !== 0) return rankDiff < 0 ? -1 : 1;
    const valueDiff = compareValues(a[i], b[i]);
    if (valueDiff !== 0) return valueDiff;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function compareBinary(a: Binary, b: Binary): number {
  if (a.position !== b.position) return a.position < b.position ? -1 : 1;
  if (a.sub_type !== b.sub_type) return a.sub_type < b.sub_type ? -1 : 1;
  const ba = a.buffer;
  const bb = b.buffer;
  for (let i = 0; i < a.position; i++) if (ba[i] !== bb[i]) return ba[i] < bb[i] ? -1 : 1;
  return 0;
}

function compareTimestamps(a: Timestamp, b: Timestamp): number {
  if (a.t !== b.t) return a.t < b.t ? -1 : 1;
  return a.i === b.i ? 0 : a.i < b.i ? -1 : 1;
}

function regexParts(value: unknown): [string, string] {
  if (value instanceof RegExp) return [value.source, value.flags];
  const r = value as { pattern: string; options: string };
  return [r.pattern, r.options];
}

function compareRegex(a: unknown, b: unknown): number {
  const [pa, fa] = regexParts(a);
  const [pb, fb] = regexParts(b);
  return compareStrings(pa, pb) || compareStrings(fa, fb);
}

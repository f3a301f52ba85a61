/**
 * The Extended JSON text of single values (numbers that JSON cannot write, dates, regular expressions,
 * `bson` types, escaped field names) and whole canonical documents: shared by the relaxed writer
 * (json-bytes.ts) for the values it does not write byte by byte.
 */
import { EJSON, type Binary, type Decimal128, type Long, type ObjectId, type Timestamp } from "bson";
import { bsonTag } from "../mql/bson-types.ts";

export type OutputFormat = "relaxedJson" | "canonicalJson";
export type DateFormat = "default" | "ISO8601";

export interface StringifyOptions {
  readonly outputFormat?: OutputFormat;
  /** `ISO8601` writes Dates as plain ISO strings instead of `{"$date": …}` (ASP `$emit.config.dateFormat`). */
  readonly dateFormat?: DateFormat;
}

/** Strings that need no escaping in JSON (printable ASCII without `"` and `\\`): quoted as they are. */
export const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

// Field names repeat from document to document: their quoted form is kept (up to a bound).
const quotedKeys = new Map<string, string>();
const MAX_QUOTED_KEYS = 10_000;

export function quoteKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key) + ":";
    if (quotedKeys.size < MAX_QUOTED_KEYS) quotedKeys.set(key, quoted);
  }
  return quoted;
}

export function writeDouble(n: number): string {
  if (Number.isFinite(n)) return Object.is(n, -0) ? '{"$numberDouble":"-0.0"}' : String(n);
  return `{"$numberDouble":"${n !== n ? "NaN" : n > 0 ? "Infinity" : "-Infinity"}"}`;
}

export const MAX_RELAXED_DATE = 253402300799999; // 9999-12-31T23:59:59.999Z

export function writeDate(date: Date, isoDates: boolean): string {
  const ms = date.getTime();
  if (ms !== ms) return "null";
  if (isoDates) return `"${date.toISOString()}"`;
  if (ms >= 0 && ms <= MAX_RELAXED_DATE) return `{"$date":"${date.toISOString()}"}`;
  return `{"$date":{"$numberLong":"${ms}"}}`;
}

export function writeRegex(pattern: string, flags: string): string {
  const options = [...flags]
    .filter((f) => "imsux".includes(f))
    .sort()
    .join("");
  return `{"$regularExpression":{"pattern":${JSON.stringify(pattern)},"options":"${options}"}}`;
}

export function writeBsonValue(value: object, tag: string): string {
  switch (tag) {
    case "ObjectId":
      return `{"$oid":"${(value as ObjectId).toHexString()}"}`;
    case "Long": {
      const long = value as Long;
      const n = long.toNumber();
      return Number.isSafeInteger(n) ? String(n) : `{"$numberLong":"${long.toString()}"}`;
    }
    case "Int32":
    case "Double":
      return writeDouble((value as { value: number }).value);
    case "Decimal128":
      return `{"$numberDecimal":"${(value as Decimal128).toString()}"}`;
    case "Binary": {
      const binary = value as Binary;
      const subType = binary.sub_type.toString(16).padStart(2, "0");
      return `{"$binary":{"base64":"${binary.toString("base64")}","subType":"${subType}"}}`;
    }
    case "Timestamp": {
      const ts = value as Timestamp;
      return `{"$timestamp":{"t":${ts.t},"i":${ts.i}}}`;
    }
    case "BSONRegExp": {
      const re = value as { pattern: string; options: string };
      return writeRegex(re.pattern, re.options);
    }
    default:
      return EJSON.stringify(value, { relaxed: true });
  }
}

/** A whole document as canonical Extended JSON (`bson`'s writer), dates as ISO strings when asked. */
export function canonicalExtendedJson(value: unknown, isoDates: boolean): string {
  return EJSON.stringify(isoDates ? datesToIsoStrings(value) : value, { relaxed: false });
}

function datesToIsoStrings(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(datesToIsoStrings);
  if (
    typeof value === "object" &&
    value !== null &&
    bsonTag(value) === undefined &&
    !(value instanceof RegExp)
  ) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = datesToIsoStrings(v);
    return out;
  }
  return value;
}

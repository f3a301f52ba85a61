/**
 * Extended JSON (v2) text ⇄ Eddy documents, tuned for the per-event path: plain JSON takes the native
 * `JSON.parse`, and relaxed output is written by a single recursive pass instead of `bson`'s generic one.
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

/**
 * Parses one Extended JSON text (relaxed or canonical). Integers keep their value; `$numberLong` values
 * beyond 2^53 stay `Long` so no precision is lost. Throws `SyntaxError` on malformed input.
 */
export function parseExtendedJson(text: string): unknown {
  if (!text.includes('"$')) return JSON.parse(text);
  return normaliseNumbers(EJSON.parse(text, { relaxed: false }));
}

/** Canonical parsing yields Int32/Double/Long wrappers; Eddy keeps plain numbers wherever they are exact. */
function normaliseNumbers(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = normaliseNumbers(value[i]);
    return value;
  }
  const tag = bsonTag(value);
  if (tag === "Int32" || tag === "Double") return (value as { value: number }).value;
  if (tag === "Long") {
    const long = value as Long;
    const n = long.toNumber();
    return BigInt(n) === long.toBigInt() ? n : long;
  }
  if (tag !== undefined || value instanceof Date || value instanceof RegExp) return value;
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) obj[key] = normaliseNumbers(obj[key]);
  return obj;
}

/** Writes a document as one line of Extended JSON (relaxed by default, as ASP's `$emit` does). */
export function stringifyExtendedJson(value: unknown, options: StringifyOptions = {}): string {
  const isoDates = options.dateFormat === "ISO8601";
  if (options.outputFormat === "canonicalJson") {
    return EJSON.stringify(isoDates ? datesToIsoStrings(value) : value, { relaxed: false });
  }
  return writeRelaxed(value, isoDates);
}

/** Strings that need no escaping in JSON (printable ASCII without `"` and `\\`): quoted as they are. */
export const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function writeString(value: string): string {
  return value.length <= 64 && PLAIN_STRING.test(value) ? `"${value}"` : JSON.stringify(value);
}

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

function writeRelaxed(value: unknown, isoDates: boolean): string {
  switch (typeof value) {
    case "string":
      return writeString(value);
    case "number":
      return writeDouble(value);
    case "boolean":
      return value ? "true" : "false";
    case "undefined":
      return "null";
    case "bigint":
      return value.toString();
    case "object":
      break;
    default:
      return "null";
  }
  if (value === null) return "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      out += writeRelaxed(value[i], isoDates);
    }
    return out + "]";
  }
  if (value instanceof Date) return writeDate(value, isoDates);
  if (value instanceof RegExp) return writeRegex(value.source, value.flags);
  const tag = bsonTag(value);
  if (tag !== undefined && tag !== "DBRef") return writeBsonValue(value, tag);
  let out = "{";
  let first = true;
  const obj = value as Record<string, unknown>;
  for (const key in obj) {
    const v = obj[key];
    if (v === undefined) continue;
    if (!first) out += ",";
    first = false;
    out += quoteKey(key) + writeRelaxed(v, isoDates);
  }
  return out + "}";
}

export function writeDouble(n: number): string {
  if (Number.isFinite(n)) return Object.is(n, -0) ? '{"$numberDouble":"-0.0"}' : String(n);
  return `{"$numberDouble":"${n !== n ? "NaN" : n > 0 ? "Infinity" : "-Infinity"}"}`;
}

export const MAX_RELAXED_DATE = 253402300799999; // 9999-12-31T23:59:59.999Z

// Consecutive documents mostly carry the same instants (`_ts` of one batch, window bounds): the last
// rendering per format is reused, since toISOString() dominates the cost of writing a date.
const lastDate = { ms: NaN, text: "", iso: false };

export function writeDate(date: Date, isoDates: boolean): string {
  const ms = date.getTime();
  if (ms !== ms) return "null";
  if (ms === lastDate.ms && isoDates === lastDate.iso) return lastDate.text;
  let text: string;
  if (isoDates) text = `"${date.toISOString()}"`;
  else if (ms >= 0 && ms <= MAX_RELAXED_DATE) text = `{"$date":"${date.toISOString()}"}`;
  else text = `{"$date":{"$numberLong":"${ms}"}}`;
  lastDate.ms = ms;
  lastDate.text = text;
  lastDate.iso = isoDates;
  return text;
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

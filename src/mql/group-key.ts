import { Decimal } from "decimal.js";
import type { Binary, Long, ObjectId, Timestamp } from "bson";
import { bsonTag } from "./bson-types.ts";

/**
 * Starts the key of every value that is not a string. A string key is the string itself (so the common
 * `_id: "$device_id"` groups look up the very string they read, whose hash V8 has already cached); only a
 * string that itself starts with this character is escaped, which keeps the two kinds apart.
 */
const NOT_A_STRING = "\u0001"; // charCode 1, tested as such in groupKeyOf
const ESCAPED_STRING = NOT_A_STRING + "s";

/**
 * A canonical string for grouping: two values get the same key exactly when MongoDB's comparison calls them
 * equal (1, 1.0, Long(1) and Decimal128("1.0") share a key; object field order matters; null and missing
 * share a key, as they do in `$group`). Strings and JS numbers take a fast path without recursion.
 */
export function groupKeyOf(value: unknown): string {
  if (typeof value === "string") return value.charCodeAt(0) === 1 ? ESCAPED_STRING + value : value;
  if (typeof value === "number") return NOT_A_STRING + numberKey(value);
  if (typeof value === "object" && value !== null && bsonTag(value) === "BSONSymbol") {
    return groupKeyOf(String((value as { value: string }).value));
  }
  return NOT_A_STRING + encode(value);
}

function numberKey(value: number): string {
  // String(x) and decimal.js agree on notation, so doubles, Longs and Decimal128 meet on one spelling.
  if (value === 0) return "n0";
  return "n" + String(value);
}

function decimalKey(text: string): string {
  if (text === "NaN" || text === "-NaN") return "nNaN";
  if (text === "Infinity" || text === "-Infinity") return "n" + text;
  const d = new Decimal(text);
  return d.isZero() ? "n0" : "n" + d.toString();
}

/** The key of a value other than a top-level string, symbol or number (no `NOT_A_STRING` prefix). */
function encode(value: unknown): string {
  switch (typeof value) {
    case "string":
      // Inside composites a length prefix keeps `["a,b"]` apart from `["a","b"]`.
      return "s" + value.length + ":" + value;
    case "number":
      return numberKey(value);
    case "bigint":
      return "n" + value.toString();
    case "boolean":
      return value ? "T" : "F";
    case "undefined":
      return "z";
    case "object":
      break;
    default:
      return "?" + String(value);
  }
  if (value === null) return "z";
  if (Array.isArray(value)) {
    let out = "[";
    for (const item of value) out += encode(item) + ",";
    return out + "]";
  }
  if (value instanceof Date) return "d" + value.getTime();
  if (value instanceof RegExp) return "r" + value.source.length + ":" + value.source + "/" + value.flags;
  switch (bsonTag(value)) {
    case undefined:
    case "DBRef":
      return encodeObject(value as Record<string, unknown>);
    case "Int32":
    case "Double":
      return numberKey((value as { value: number }).value);
    case "Long":
      return "n" + (value as Long).toString();
    case "Decimal128":
      return decimalKey(String(value));
    case "ObjectId":
      return "i" + (value as ObjectId).toHexString();
    case "Binary": {
      const b = value as Binary;
      return "b" + b.sub_type + ":" + Buffer.from(b.buffer.subarray(0, b.position)).toString("base64");
    }
    case "Timestamp": {
      const t = value as Timestamp;
      return "t" + t.t + "." + t.i;
    }
    case "MinKey":
      return "<";
    case "MaxKey":
      return ">";
    case "BSONRegExp": {
      const r = value as { pattern: string; options: string };
      return "r" + r.pattern.length + ":" + r.pattern + "/" + r.options;
    }
    case "BSONSymbol":
      return encode(String((value as { value: string }).value));
    default:
      return "?" + String(value);
  }
}

function encodeObject(obj: Record<string, unknown>): string {
  let out = "{";
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined) continue;
    out += key.length + ":" + key + "=" + encode(v) + ",";
  }
  return out + "}";
}

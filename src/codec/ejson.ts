/**
 * Extended JSON (v2) text ⇄ Eddy documents, tuned for the per-event path: plain JSON takes the native
 * `JSON.parse`, and relaxed output is the byte writer's (json-bytes.ts) instead of `bson`'s generic one.
 */
import { EJSON, type Long } from "bson";
import { bsonTag } from "../mql/bson-types.ts";
import { ByteBuffer } from "./byte-buffer.ts";
import { canonicalExtendedJson, type StringifyOptions } from "./ejson-text.ts";
import { writeExtendedJson } from "./json-bytes.ts";

export type { DateFormat, OutputFormat, StringifyOptions } from "./ejson-text.ts";

/**
 * Parses one Extended JSON text (relaxed or canonical). Integers keep their value; `$numberLong` values
 * beyond 2^53 stay `Long` so no precision is lost. Throws `SyntaxError` on malformed input.
 */
export function parseExtendedJson(text: string): unknown {
  if (!text.includes('"$')) return JSON.parse(text);
  return rejectInvalidDates(text, normaliseNumbers(EJSON.parse(text, { relaxed: false })));
}

/**
 * `bson` turns `{"$date": "not a date"}` into an Invalid Date instead of refusing it; Extended JSON has no
 * such value, so it is a syntax error (the record goes to the DLQ rather than on as a NaN date). Returns
 * `value`; only text that holds a `$date` is walked.
 */
export function rejectInvalidDates(text: string, value: unknown): unknown {
  if (!text.includes('"$date"')) return value;
  const path = invalidDatePath(value, "");
  if (path !== undefined) {
    throw new SyntaxError(
      `the $date at ${path || "the top level"} is not a valid date (Extended JSON wants an ISO-8601 string or {"$numberLong": "<milliseconds>"})`,
    );
  }
  return value;
}

function invalidDatePath(value: unknown, path: string): string | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? path : undefined;
  if (typeof value !== "object" || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = invalidDatePath(value[i], path === "" ? String(i) : `${path}.${i}`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (bsonTag(value) !== undefined || value instanceof RegExp) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const found = invalidDatePath(item, path === "" ? key : `${path}.${key}`);
    if (found !== undefined) return found;
  }
  return undefined;
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
  if (options.outputFormat === "canonicalJson") {
    return canonicalExtendedJson(value, options.dateFormat === "ISO8601");
  }
  const out = new ByteBuffer(256);
  writeExtendedJson(out, value, options);
  return out.view().toString("utf8");
}

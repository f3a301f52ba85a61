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
  if (options.outputFormat === "canonicalJson") {
    return canonicalExtendedJson(value, options.dateFormat === "ISO8601");
  }
  const out = new ByteBuffer(256);
  writeExtendedJson(out, value, options);
  return out.view().toString("utf8");
}

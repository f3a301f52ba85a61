/**
 * Scalar conversions shared by the protobuf and JSON forms of a request: ids (Buffer or hex string), 64-bit
 * nanosecond times (`Long` of the `long` package, decimal string or number), AnyValue trees and attribute lists.
 * Problems throw {@link OtlpInputError} naming the JSON path, which turns into a 400 for the whole request.
 */
import { Binary, Long } from "bson";
import type { Doc } from "../../mql/index.ts";

/** A request that decoded but breaks the OTLP data model (wrong id length, bad int64…): answered with 400. */
export class OtlpInputError extends Error {
  override readonly name = "OtlpInputError";
}

/** A `long`-package Long as protobufjs decodes 64-bit fields (only the bits are read). */
interface LongBits {
  readonly low: number;
  readonly high: number;
}

const isLongBits = (value: unknown): value is LongBits =>
  typeof value === "object" && value !== null && typeof (value as LongBits).low === "number";

const HEX = /^[0-9a-fA-F]*$/;

/**
 * Whether a field was sent: protobufjs keeps absent fields' defaults (also of oneof members) on the
 * prototype, so only own properties count; JSON objects have only own properties.
 */
export function has(object: Record<string, unknown>, field: string): boolean {
  return Object.hasOwn(object, field) && object[field] != null;
}

/**
 * An id of `bytes` length as lowercase hex; "" when absent or empty. Protobuf gives a Buffer, OTLP/JSON a hex
 * string (the specification's JSON mapping, not base64).
 */
export function idHex(value: unknown, bytes: number, path: string): string {
  if (value === undefined || value === null) return "";
  // protobufjs leaves an absent bytes field as its default, an empty array.
  if (Array.isArray(value) && value.length === 0) return "";
  if (typeof value === "string") {
    if (value === "") return "";
    if (value.length !== bytes * 2 || !HEX.test(value))
      throw new OtlpInputError(`${path}: expected ${bytes * 2} hex digits, got ${JSON.stringify(value)}`);
    return value.toLowerCase();
  }
  if (value instanceof Uint8Array) {
    if (value.length === 0) return "";
    if (value.length !== bytes)
      throw new OtlpInputError(`${path}: expected ${bytes} bytes, got ${value.length}`);
    return Buffer.from(value.buffer, value.byteOffset, value.length).toString("hex");
  }
  throw new OtlpInputError(`${path}: expected a hex string, got ${typeof value}`);
}

const ZERO_IDS = new Set(["0".repeat(32), "0".repeat(16)]);
/** All-zero trace and span ids are invalid in OTLP (as empty ones are). */
export const isZeroId = (hex: string): boolean => ZERO_IDS.has(hex);

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);

/** A 64-bit integer field as a BigInt: Long bits from protobuf, or a decimal string / number from JSON. */
export function int64(value: unknown, path: string, unsigned = true): bigint {
  if (value === undefined || value === null) return 0n;
  if (isLongBits(value)) {
    const bits = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
    return unsigned ? bits : BigInt.asIntN(64, bits);
  }
  let result: bigint | undefined;
  if (typeof value === "number" && Number.isSafeInteger(value)) result = BigInt(value);
  else if (typeof value === "string" && /^-?\d{1,20}$/.test(value)) result = BigInt(value);
  if (result === undefined || result > UINT64_MAX || result < (unsigned ? 0n : INT64_MIN))
    throw new OtlpInputError(
      `${path}: expected a 64-bit ${unsigned ? "unsigned " : ""}integer (a decimal string), got ${JSON.stringify(value)}`,
    );
  return result;
}

/** A time in nanoseconds since the epoch, as stored: the original nanoseconds (Long) and a BSON date. */
export interface NanoTime {
  readonly nanos: Long;
  readonly date: Date;
}

export function nanoTime(value: unknown, path: string): NanoTime {
  // protobuf's fixed64 arrives as bits: no BigInt on the hot path.
  const bits = isLongBits(value) ? value : Long.fromBigInt(int64(value, path), true);
  return { nanos: Long.fromBits(bits.low, bits.high), date: new Date(floorMillis(bits.low, bits.high)) };
}

/**
 * floor((high·2^32 + low) / 10^6) exactly in doubles: high = qh·10^6 + rh, so the quotient is
 * qh·2^32 + floor((rh·2^32 + low) / 10^6), every term below 2^53.
 */
function floorMillis(low: number, high: number): number {
  const h = high >>> 0;
  const qh = Math.floor(h / 1_000_000);
  const rh = h - qh * 1_000_000;
  return qh * 4294967296 + Math.floor((rh * 4294967296 + (low >>> 0)) / 1_000_000);
}

/** A count or other 64-bit integer as a document value: a number when exact, else a Long. */
export function countValue(value: unknown, path: string, unsigned = true): number | Long {
  const big = int64(value, path, unsigned);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(big)
    : Long.fromBigInt(big);
}

/** An OTLP/JSON number field: a JSON number or one of the special strings proto3 JSON allows. */
export function doubleValue(value: unknown, path: string): number {
  if (typeof value === "number") return value;
  if (value === "NaN") return NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value)))
    return Number(value);
  throw new OtlpInputError(`${path}: expected a number, got ${JSON.stringify(value)}`);
}

/** An integer field (enum, count, flags) that must be a plain number. */
export function intValue(value: unknown, path: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === "number" && Number.isInteger(value)) return value;
  throw new OtlpInputError(`${path}: expected an integer, got ${JSON.stringify(value)}`);
}

export function stringValue(value: unknown, path: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  throw new OtlpInputError(`${path}: expected a string, got ${typeof value}`);
}

/** A repeated field: an array, or absent (empty). */
export function list(value: unknown, path: string): readonly Record<string, unknown>[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++)
      if (typeof value[i] !== "object" || value[i] === null)
        throw new OtlpInputError(`${path}[${i}]: expected an object`);
    return value as Record<string, unknown>[];
  }
  throw new OtlpInputError(`${path}: expected an array, got ${typeof value}`);
}

/** A nested message: an object, or absent (undefined). */
export function message(value: unknown, path: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  throw new OtlpInputError(
    `${path}: expected an object, got ${Array.isArray(value) ? "array" : typeof value}`,
  );
}

/**
 * An AnyValue as a document value: string, boolean, number (int64 beyond 2^53 as Long), array, sub-document
 * for a kvlist, BSON binary for bytes; null when empty.
 */
export function anyValue(value: unknown, listPath: string, index?: number): unknown {
  // The path is built only when something is wrong (this runs for every attribute).
  const any =
    typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  if (any && typeof any.stringValue === "string" && Object.hasOwn(any, "stringValue")) return any.stringValue;
  const path = index === undefined ? listPath : `${listPath}[${index}].value`;
  if (!any) return message(value, path) ?? null;
  if (!any) return null;
  if (has(any, "stringValue")) return stringValue(any.stringValue, `${path}.stringValue`);
  if (has(any, "intValue")) return countValue(any.intValue, `${path}.intValue`, false);
  if (has(any, "doubleValue")) return doubleValue(any.doubleValue, `${path}.doubleValue`);
  if (has(any, "boolValue")) {
    if (typeof any.boolValue !== "boolean")
      throw new OtlpInputError(`${path}.boolValue: expected a boolean, got ${JSON.stringify(any.boolValue)}`);
    return any.boolValue;
  }
  if (has(any, "arrayValue")) {
    const values = list(message(any.arrayValue, `${path}.arrayValue`)?.values, `${path}.arrayValue.values`);
    return values.map((item, i) => anyValue(item, `${path}.arrayValue.values[${i}]`));
  }
  if (has(any, "kvlistValue"))
    return attributes(message(any.kvlistValue, `${path}.kvlistValue`)?.values, `${path}.kvlistValue.values`);
  if (has(any, "bytesValue")) {
    const bytes = any.bytesValue;
    if (bytes instanceof Uint8Array) return new Binary(bytes);
    if (typeof bytes === "string") return new Binary(Buffer.from(bytes, "base64"));
    throw new OtlpInputError(`${path}.bytesValue: expected base64 bytes`);
  }
  return null;
}

/** A KeyValue list flattened into one sub-document `{key: value}` (keys kept as sent, dots included). */
export function attributes(value: unknown, path: string): Doc {
  const doc: Doc = {};
  const items = list(value, path);
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const key = typeof item.key === "string" ? item.key : stringValue(item.key, `${path}[${i}].key`);
    const entry = anyValue(item.value, path, i);
    // "__proto__" is a legal attribute name: define it instead of setting the prototype.
    if (key === "__proto__")
      Object.defineProperty(doc, key, { value: entry, enumerable: true, writable: true });
    else doc[key] = entry;
  }
  return doc;
}

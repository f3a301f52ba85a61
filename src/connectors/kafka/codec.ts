/**
 * Kafka record keys and headers ⇄ document values, as ASP encodes them (`$source.config.keyFormat`,
 * `$emit.config.key/keyFormat/headers`). Integers are big-endian, as Java's Kafka serializers write them.
 */
import { Binary, Long } from "bson";
import { bsonTag, bsonTypeOf } from "../../mql/bson-types.ts";
import { parseExtendedJson, stringifyExtendedJson } from "../../codec/ejson.ts";

import type { KeyFormat } from "./spec.ts";

export type { KeyFormat } from "./spec.ts";

/** A key or header that cannot be converted; the record goes to the DLQ (or passes on, per `keyFormatError`). */
export class KafkaCodecError extends Error {
  override readonly name = "KafkaCodecError";
}

/** Decodes a record key for `_stream_meta.source.key`; undefined for an absent or empty key. */
export function decodeKey(bytes: Uint8Array | null | undefined, format: KeyFormat): unknown {
  if (!bytes || bytes.length === 0) return undefined;
  switch (format) {
    case "binData":
      return new Binary(bytes, 0);
    case "string":
      return decodeUtf8(bytes);
    case "json":
      try {
        return parseExtendedJson(decodeUtf8(bytes));
      } catch (error) {
        throw new KafkaCodecError(`Failed to parse key as json: ${(error as Error).message}`);
      }
    case "int":
      expectWidth(bytes, 4, format);
      return view(bytes).getInt32(0, false);
    case "long": {
      expectWidth(bytes, 8, format);
      const value = view(bytes).getBigInt64(0, false);
      const n = Number(value);
      return BigInt(n) === value ? n : Long.fromBigInt(value);
    }
    case "double":
      expectWidth(bytes, 8, format);
      return view(bytes).getFloat64(0, false);
  }
}

/** Encodes a `$emit` key evaluated from the document; throws KafkaCodecError when it does not fit `format`. */
export function encodeKey(value: unknown, format: KeyFormat): Uint8Array {
  switch (format) {
    case "binData":
      if (bsonTag(value as object) === "Binary") return (value as Binary).value();
      throw new KafkaCodecError(`Key of type ${bsonTypeOf(value)} cannot be written with keyFormat binData`);
    case "string":
      if (typeof value === "string") return encodeUtf8(value);
      throw new KafkaCodecError(`Key of type ${bsonTypeOf(value)} cannot be written with keyFormat string`);
    case "json":
      return encodeUtf8(stringifyExtendedJson(value));
    case "int": {
      const n = integerOf(value, format);
      if (n < -2147483648n || n > 2147483647n)
        throw new KafkaCodecError(`Key ${n} does not fit keyFormat int`);
      const out = new Uint8Array(4);
      view(out).setInt32(0, Number(n), false);
      return out;
    }
    case "long": {
      const out = new Uint8Array(8);
      view(out).setBigInt64(0, BigInt.asIntN(64, integerOf(value, format)), false);
      return out;
    }
    case "double": {
      if (typeof value !== "number") {
        throw new KafkaCodecError(`Key of type ${bsonTypeOf(value)} cannot be written with keyFormat double`);
      }
      const out = new Uint8Array(8);
      view(out).setFloat64(0, value, false);
      return out;
    }
  }
}

/** Record headers as ASP exposes them in `_stream_meta.source.headers`. */
export interface HeaderEntry {
  readonly k: string;
  readonly v: Binary | null;
}

export function decodeHeaders(
  headers: Iterable<readonly [string, Uint8Array | null | undefined]>,
): HeaderEntry[] {
  const out: HeaderEntry[] = [];
  for (const [k, v] of headers) out.push({ k, v: v ? new Binary(v, 0) : null });
  return out;
}

/**
 * Encodes `$emit.config.headers` evaluated per document: an object (each field a header) or an array of
 * `{k, v}`. Values may be binData, string, object (written as JSON), int/long/double (big-endian) or null.
 */
export function encodeHeaders(value: unknown): Array<[string, Uint8Array | null]> {
  if (value === undefined || value === null) return [];
  const entries: Array<[string, unknown]> = Array.isArray(value)
    ? value.map((entry, i) => headerEntry(entry, i))
    : typeof value === "object" && bsonTag(value) === undefined
      ? Object.entries(value as Record<string, unknown>)
      : fail(`headers must evaluate to an object or an array of {k, v}, not ${bsonTypeOf(value)}`);
  return entries.map(([k, v]) => [k, encodeHeaderValue(k, v)]);
}

function headerEntry(entry: unknown, index: number): [string, unknown] {
  const e = entry as { k?: unknown; v?: unknown } | null;
  if (typeof e !== "object" || e === null || typeof e.k !== "string") {
    return fail(`headers[${index}] must be an object {k: <string>, v: <value>}`);
  }
  return [e.k, e.v];
}

function encodeHeaderValue(name: string, value: unknown): Uint8Array | null {
  switch (bsonTypeOf(value)) {
    case "null":
    case "missing":
      return null;
    case "binData":
      return (value as Binary).value();
    case "string":
      return encodeUtf8(value as string);
    case "object":
      return encodeUtf8(stringifyExtendedJson(value));
    case "int":
      return encodeKey(value, "int");
    case "long":
      return encodeKey(value, "long");
    case "double":
      return encodeKey(value, "double");
    default:
      return fail(`header '${name}' has unsupported type ${bsonTypeOf(value)}`);
  }
}

function integerOf(value: unknown, format: KeyFormat): bigint {
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  if (typeof value === "object" && value !== null && bsonTag(value) === "Long")
    return (value as Long).toBigInt();
  throw new KafkaCodecError(`Key of type ${bsonTypeOf(value)} cannot be written with keyFormat ${format}`);
}

function expectWidth(bytes: Uint8Array, width: number, format: KeyFormat): void {
  if (bytes.length !== width) {
    throw new KafkaCodecError(
      `Key of ${bytes.length} bytes cannot be read with keyFormat ${format} (needs ${width})`,
    );
  }
}

function fail(message: string): never {
  throw new KafkaCodecError(message);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new KafkaCodecError("Key is not valid UTF-8");
  }
}

function encodeUtf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

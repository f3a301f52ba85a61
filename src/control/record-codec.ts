import {
  calculateObjectSize,
  deserialize,
  Double,
  EJSON,
  Int32,
  serialize,
  setInternalBufferSize,
} from "bson";
import type { Doc } from "../mql/index.ts";

/**
 * How state stores write records as text: canonical Extended JSON, so Long, Decimal128, dates, -0 and NaN
 * keep their exact values. Reading turns Int32 and Double back into plain numbers, the way Eddy holds
 * every other number.
 */
export function encodeRecord(value: unknown): string {
  return EJSON.stringify(value, { relaxed: false });
}

export function decodeRecord(text: string): unknown {
  return plainNumbers(EJSON.parse(text, { relaxed: false }));
}

/**
 * How large bson's module-wide serialisation buffer is known to be (17 MB initially; it only grows). bson
 * writes every document into that buffer and, past its end, silently truncates or throws.
 */
let bsonBufferBytes = 17 * 1024 * 1024;
const BSON_OPTIONS = { ignoreUndefined: true, serializeFunctions: false } as const;

/**
 * The same record as BSON bytes, for bulky records (checkpoint operator state): several times faster to
 * read back than canonical EJSON text, and of any size (unlike a MongoDB document). Numbers come back like
 * {@link decodeRecord}'s (Int32 and Double as plain numbers; Long, Decimal128, dates, -0 and NaN exact),
 * except that a plain number beyond the int32 range stays a number instead of becoming a Long.
 * `undefined` fields are dropped, as in JSON.
 */
export function encodeBinaryRecord(doc: Doc): Uint8Array {
  try {
    const bytes = serialize(doc, BSON_OPTIONS);
    // An overflowing document leaves the write position at (or past) the buffer's end.
    if (bytes.length < bsonBufferBytes - 16) return bytes;
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
  // Too large for the buffer: size it exactly and grow the buffer (it stays that large).
  const size = calculateObjectSize(doc, BSON_OPTIONS);
  bsonBufferBytes = Math.max(bsonBufferBytes, size + 1024);
  setInternalBufferSize(bsonBufferBytes);
  const bytes = serialize(doc, BSON_OPTIONS);
  if (bytes.length !== size) throw new Error(`BSON serialisation wrote ${bytes.length} of ${size} bytes`);
  return bytes;
}

export function decodeBinaryRecord(bytes: Uint8Array): Doc {
  return deserialize(bytes, { promoteLongs: false }) as Doc;
}

function plainNumbers(value: unknown): unknown {
  if (value instanceof Int32 || value instanceof Double) return value.valueOf();
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = plainNumbers(value[i]);
    return value;
  }
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = plainNumbers(record[key]);
  }
  return value;
}

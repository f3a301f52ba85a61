import { createHash, type Hash } from "node:crypto";
import { type Binary, type Code, type Decimal128, Long, type ObjectId, type Timestamp } from "bson";
import { bsonTypeOf, canonicalRank } from "../bson-types.ts";
import { decimalOf, numberOf } from "../numeric.ts";
import { regexSpecOf } from "../regex.ts";

const TWO_63 = 2 ** 63;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/**
 * MongoDB's hashed-index key of a value (`$toHashedIndexKey`, hashed indexes and shard keys): the first 8
 * bytes, read as a little-endian int64, of MD5 over a 4-byte zero seed followed by the value's encoding
 * (`BSONElementHasher::hash64` in the server's `hasher.cpp`). Each element contributes its canonical type
 * (int32), its field name inside documents and arrays (with the NUL), then either every number squashed
 * to an int64 (`safeNumberLongForHash`), the BSON value bytes, or its children followed by an end marker.
 */
export function hashedIndexKey(value: unknown): Long {
  const md5 = createHash("md5");
  md5.update(int32(0)); // seed
  hashElement(md5, value === undefined ? null : value, undefined);
  const digest = md5.digest();
  return Long.fromBigInt(digest.readBigInt64LE(0));
}

function int32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32LE(n, 0);
  return b;
}

function int64(n: bigint): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigInt64LE(n, 0);
  return b;
}

/** A BSON string value: int32 byte length including the NUL, the UTF-8 bytes, the NUL. */
function bsonString(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  return Buffer.concat([int32(bytes.length + 1), bytes, Buffer.from([0])]);
}

function cString(text: string): Buffer {
  return Buffer.concat([Buffer.from(text, "utf8"), Buffer.from([0])]);
}

/** `BSONElement::safeNumberLongForHash`: NaN ⇒ 0, out-of-range clamps, double 2^63 ⇒ -2^63, doubles truncate. */
function numberForHash(value: unknown, type: string): bigint {
  if (type === "long")
    return typeof value === "bigint"
      ? value
      : value instanceof Long
        ? value.toBigInt()
        : BigInt(numberOf(value));
  if (type === "decimal") {
    const d = decimalOf(value as Decimal128);
    if (d.isNaN()) return 0n;
    if (d.gt(INT64_MAX.toString())) return INT64_MAX;
    if (d.lt(INT64_MIN.toString())) return INT64_MIN;
    return BigInt(d.toDecimalPlaces(0, 6 /* ROUND_HALF_EVEN */).toFixed());
  }
  const n = numberOf(value);
  if (Number.isNaN(n)) return 0n;
  if (n === TWO_63) return INT64_MIN;
  if (n > TWO_63) return INT64_MAX;
  if (n < -TWO_63) return INT64_MIN;
  return BigInt(Math.trunc(n));
}

function hashElement(md5: Hash, value: unknown, fieldName: string | undefined): void {
  const type = bsonTypeOf(value);
  md5.update(int32(canonicalRank(type)));
  if (fieldName !== undefined) md5.update(cString(fieldName));
  switch (type) {
    case "int":
    case "long":
    case "double":
    case "decimal":
      md5.update(int64(numberForHash(value, type)));
      return;
    case "string":
      md5.update(bsonString(value as string));
      return;
    case "symbol":
      md5.update(bsonString(String((value as { value: unknown }).value)));
      return;
    case "javascript":
      md5.update(bsonString((value as Code).code));
      return;
    case "bool":
      md5.update(Buffer.from([value ? 1 : 0]));
      return;
    case "date":
      md5.update(int64(BigInt((value as Date).getTime())));
      return;
    case "objectId":
      md5.update(Buffer.from((value as ObjectId).id));
      return;
    case "timestamp": {
      const ts = value as Timestamp;
      md5.update(Buffer.concat([int32(ts.i | 0), int32(ts.t | 0)]));
      return;
    }
    case "binData": {
      const bin = value as Binary;
      const bytes = Buffer.from(bin.buffer.subarray(0, bin.position));
      md5.update(Buffer.concat([int32(bytes.length), Buffer.from([bin.sub_type]), bytes]));
      return;
    }
    case "regex": {
      const spec = regexSpecOf(value);
      md5.update(Buffer.concat([cString(spec?.pattern ?? ""), cString(spec?.options ?? "")]));
      return;
    }
    case "object":
      for (const key of Object.keys(value as object)) {
        const child = (value as Record<string, unknown>)[key];
        if (child !== undefined) hashElement(md5, child, key);
      }
      md5.update(int32(0)); // the end-of-object element: canonical type 0, no name, no value
      return;
    case "array":
      (value as unknown[]).forEach((child, i) =>
        hashElement(md5, child === undefined ? null : child, String(i)),
      );
      md5.update(int32(0));
      return;
    default:
      // null, undefined, minKey, maxKey (and anything without value bytes) hash by type alone.
      return;
  }
}

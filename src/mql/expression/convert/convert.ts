import { type Binary, Decimal128, Long, ObjectId, type Timestamp } from "bson";
import { bsonTypeOf, type BsonTypeName } from "../../bson-types.ts";
import { decimalOf, numberOf } from "../../numeric.ts";
import { parseIsoDateString } from "../dates/parse.ts";
import { formatNumber } from "../math/unary.ts";
import { isTruthy } from "../truthiness.ts";
import {
  binaryToDouble,
  binaryToInt,
  binaryToLong,
  binaryToString,
  type BinaryFormat,
  boolToBinary,
  type ByteOrder,
  doubleToBinary,
  intToBinary,
  longToBinary,
  stringToBinary,
  UUID_SUBTYPE,
} from "./binary.ts";
import { conversionFailure, ConversionFailure } from "./failure.ts";

export interface ConvertOptions {
  /** Byte order of binData holding numbers (ASP); default little-endian. */
  readonly byteOrder: ByteOrder;
  /** Text format of binData ↔ string (ASP); binData → string defaults to base64 (uuid for subtype 4). */
  readonly format: BinaryFormat | undefined;
  /** Subtype of binData produced; default 0 (4 for `format: "uuid"`). */
  readonly subtype: number | undefined;
}

export const DEFAULT_CONVERT_OPTIONS: ConvertOptions = {
  byteOrder: "little",
  format: undefined,
  subtype: undefined,
};

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TWO_63 = 2 ** 63;

function unsupported(from: BsonTypeName, to: BsonTypeName): never {
  return conversionFailure(`Unsupported conversion from ${from} to ${to}`);
}

/**
 * Converts a non-null, non-missing value to the BSON type `to` as `$convert` does. Throws
 * {@link ConversionFailure} (caught by `onError`) when the value cannot be converted.
 */
export function convertValue(
  value: unknown,
  to: BsonTypeName,
  options: ConvertOptions = DEFAULT_CONVERT_OPTIONS,
): unknown {
  const from = bsonTypeOf(value);
  switch (to) {
    case "double":
      return toDouble(value, from, options);
    case "string":
      return toStringValue(value, from, options);
    case "objectId":
      return toObjectId(value, from);
    case "bool":
      return isTruthy(value);
    case "date":
      return toDate(value, from);
    case "int":
      return toInt(value, from, options);
    case "long":
      return toLong(value, from, options);
    case "decimal":
      return toDecimalValue(value, from);
    case "binData":
      return toBinData(value, from, options);
    default:
      if (from === to) return value;
      return unsupported(from, to);
  }
}

function toDouble(value: unknown, from: BsonTypeName, options: ConvertOptions): number {
  switch (from) {
    case "double":
    case "int":
    case "long":
      return numberOf(value);
    case "decimal": {
      const d = decimalOf(value);
      const n = d.toNumber();
      if (d.isFinite() && !Number.isFinite(n))
        conversionFailure("Conversion would overflow target type", d.toString());
      return n;
    }
    case "bool":
      return value ? 1 : 0;
    case "string":
      return parseDouble(value as string);
    case "date":
      return (value as Date).getTime();
    case "binData":
      return binaryToDouble(value as Binary, options.byteOrder);
    default:
      return unsupported(from, "double");
  }
}

/** A double as MongoDB prints it: shortest round-trip digits, `-0` kept. */
export function formatDouble(n: number): string {
  return Object.is(n, -0) ? "-0" : String(n);
}

function toStringValue(value: unknown, from: BsonTypeName, options: ConvertOptions): string {
  switch (from) {
    case "string":
      return value as string;
    case "double":
      return formatDouble(numberOf(value));
    case "int":
    case "long":
    case "decimal":
      return String(typeof value === "object" ? (value as Long | Decimal128).toString() : value);
    case "bool":
      return value ? "true" : "false";
    case "objectId":
      return (value as ObjectId).toHexString();
    case "date":
      return formatDate(value as Date);
    case "binData": {
      const bin = value as Binary;
      return binaryToString(bin, options.format ?? (bin.sub_type === UUID_SUBTYPE ? "uuid" : "base64"));
    }
    default:
      return unsupported(from, "string");
  }
}

function formatDate(date: Date): string {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) conversionFailure("Unsupported conversion from date to string", "invalid date");
  return date.toISOString();
}

const OBJECT_ID_TEXT = /^[0-9A-Fa-f]{24}$/;

function toObjectId(value: unknown, from: BsonTypeName): ObjectId {
  if (from === "objectId") return value as ObjectId;
  if (from !== "string") return unsupported(from, "objectId");
  const text = value as string;
  if (!OBJECT_ID_TEXT.test(text)) {
    const detail =
      text.length !== 24
        ? `Invalid string length for parsing to OID, expected 24 but found ${text.length}`
        : `Invalid character found in hex string: '${/[^0-9A-Fa-f]/.exec(text)?.[0] ?? ""}'`;
    conversionFailure(`Failed to parse objectId '${text}'`, detail);
  }
  return ObjectId.createFromHexString(text);
}

function toDate(value: unknown, from: BsonTypeName): Date {
  switch (from) {
    case "date":
      return value as Date;
    case "int":
      // A bson Int32 is not a date (MongoDB refuses int → date); a plain JS number carries no int/double
      // distinction, so it is read as milliseconds.
      if (typeof value !== "number") return unsupported(from, "date");
      return new Date(value);
    case "double":
    case "long":
    case "decimal":
      return new Date(Number(integralPart(value, from, INT64_MIN, INT64_MAX)));
    case "string":
      return parseDate(value as string);
    case "objectId":
      return (value as ObjectId).getTimestamp();
    case "timestamp":
      return new Date((value as Timestamp).t * 1000);
    default:
      return unsupported(from, "date");
  }
}

function parseDate(text: string): Date {
  try {
    const parsed = parseIsoDateString(text);
    return new Date(parsed.zone ? parsed.zone.fromLocal(parsed.localMs) : parsed.localMs);
  } catch (err) {
    throw new ConversionFailure(err instanceof Error ? err.message : String(err));
  }
}

/** The integral part of a numeric value as a bigint within [min, max], with MongoDB's NaN/infinity/overflow errors. */
function integralPart(value: unknown, from: BsonTypeName, min: bigint, max: bigint): bigint {
  if (from === "long" && typeof value === "object" && value !== null) return (value as Long).toBigInt();
  if (typeof value === "bigint") return value;
  if (from === "decimal") {
    const d = decimalOf(value);
    if (d.isNaN()) conversionFailure("Attempt to convert NaN value to integer type", "NaN");
    if (!d.isFinite()) conversionFailure("Attempt to convert infinity value to integer type", d.toString());
    const exact = BigInt(d.trunc().toFixed());
    if (exact < min || exact > max) conversionFailure("Conversion would overflow target type", d.toString());
    return exact;
  }
  const n = numberOf(value);
  if (n !== n) conversionFailure("Attempt to convert NaN value to integer type", "nan");
  if (!Number.isFinite(n))
    conversionFailure("Attempt to convert infinity value to integer type", formatNumber(n));
  const t = Math.trunc(n);
  if (max === INT64_MAX ? t < -TWO_63 || t >= TWO_63 : t < Number(min) || t > Number(max)) {
    conversionFailure("Conversion would overflow target type", formatNumber(n));
  }
  return BigInt(t);
}

function toInt(value: unknown, from: BsonTypeName, options: ConvertOptions): number {
  switch (from) {
    case "int":
      return numberOf(value);
    case "long": {
      const exact = integralPart(value, from, INT64_MIN, INT64_MAX);
      if (exact < BigInt(INT32_MIN) || exact > BigInt(INT32_MAX))
        conversionFailure("Conversion would overflow target type", exact.toString());
      return Number(exact);
    }
    case "double":
    case "decimal":
      return Number(integralPart(value, from, BigInt(INT32_MIN), BigInt(INT32_MAX)));
    case "bool":
      return value ? 1 : 0;
    case "string":
      return Number(parseInteger(value as string, BigInt(INT32_MIN), BigInt(INT32_MAX)));
    case "binData":
      return binaryToInt(value as Binary, options.byteOrder);
    default:
      return unsupported(from, "int");
  }
}

function toLong(value: unknown, from: BsonTypeName, options: ConvertOptions): Long {
  switch (from) {
    case "long":
      if (typeof value === "object") return value as Long;
      return Long.fromBigInt(integralPart(value, from, INT64_MIN, INT64_MAX));
    case "int":
      return Long.fromNumber(numberOf(value));
    case "double":
    case "decimal":
      return Long.fromBigInt(integralPart(value, from, INT64_MIN, INT64_MAX));
    case "bool":
      return Long.fromNumber(value ? 1 : 0);
    case "string":
      return Long.fromBigInt(parseInteger(value as string, INT64_MIN, INT64_MAX));
    case "date":
      return Long.fromNumber((value as Date).getTime());
    case "binData":
      return Long.fromBigInt(binaryToLong(value as Binary, options.byteOrder));
    default:
      return unsupported(from, "long");
  }
}

function toDecimalValue(value: unknown, from: BsonTypeName): Decimal128 {
  switch (from) {
    case "decimal":
      return value as Decimal128;
    case "double": {
      // MongoDB converts a double to 15 significant digits, keeping the trailing zeros (5.5 ⇒ 5.50000000000000).
      const n = numberOf(value);
      if (!Number.isFinite(n))
        return Decimal128.fromString(n !== n ? "NaN" : n < 0 ? "-Infinity" : "Infinity");
      return Decimal128.fromString(n.toPrecision(15));
    }
    case "int":
    case "long":
      return Decimal128.fromString(typeof value === "object" ? (value as Long).toString() : String(value));
    case "bool":
      return Decimal128.fromString(value ? "1" : "0");
    case "string":
      return parseDecimal(value as string);
    case "date":
      return Decimal128.fromString(String((value as Date).getTime()));
    default:
      return unsupported(from, "decimal");
  }
}

function toBinData(value: unknown, from: BsonTypeName, options: ConvertOptions): Binary {
  const subtype = options.subtype ?? 0;
  switch (from) {
    case "binData":
      return value as Binary;
    case "int":
      return intToBinary(numberOf(value), options.byteOrder, subtype);
    case "long":
      return longToBinary(integralPart(value, from, INT64_MIN, INT64_MAX), options.byteOrder, subtype);
    case "double":
      return doubleToBinary(numberOf(value), options.byteOrder, subtype);
    case "bool":
      return boolToBinary(value as boolean, subtype);
    case "string":
      if (!options.format)
        conversionFailure("Format must be specified when converting from 'string' to 'binData'");
      return stringToBinary(value as string, options.format, options.subtype);
    default:
      return unsupported(from, "binData");
  }
}

const INTEGER_TEXT = /^[+-]?\d+$/;
const DECIMAL_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL_TEXT = /^([+-]?)(inf|infinity|nan)$/i;

function parseFailure(text: string, reason: string): never {
  return conversionFailure(`Failed to parse number '${text}'`, reason);
}

function parseInteger(text: string, min: bigint, max: bigint): bigint {
  if (text === "") parseFailure(text, "No digits");
  if (!INTEGER_TEXT.test(text)) parseFailure(text, "Did not consume whole string.");
  const n = BigInt(text);
  if (n < min || n > max) parseFailure(text, "Overflow");
  return n;
}

function parseDouble(text: string): number {
  if (text === "") parseFailure(text, "No digits");
  const special = SPECIAL_TEXT.exec(text);
  if (special) return special[2].toLowerCase() === "nan" ? NaN : special[1] === "-" ? -Infinity : Infinity;
  if (!DECIMAL_TEXT.test(text)) parseFailure(text, "Did not consume whole string.");
  const n = Number(text);
  if (!Number.isFinite(n)) parseFailure(text, "Out of range");
  return n;
}

function parseDecimal(text: string): Decimal128 {
  if (text === "") parseFailure(text, "No digits");
  const special = SPECIAL_TEXT.exec(text);
  if (special) {
    return Decimal128.fromString(
      special[2].toLowerCase() === "nan" ? "NaN" : `${special[1] === "-" ? "-" : ""}Infinity`,
    );
  }
  if (!DECIMAL_TEXT.test(text)) parseFailure(text, "Did not consume whole string.");
  try {
    return Decimal128.fromStringWithRounding(text);
  } catch {
    return parseFailure(text, "Out of range");
  }
}

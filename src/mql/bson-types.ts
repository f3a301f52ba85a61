import { Decimal128, Long, type Binary, type ObjectId, type Timestamp } from "bson";

/** BSON type names as `$type` reports them, plus `missing` for an absent value. */
export type BsonTypeName =
  | "double"
  | "string"
  | "object"
  | "array"
  | "binData"
  | "undefined"
  | "objectId"
  | "bool"
  | "date"
  | "null"
  | "regex"
  | "dbPointer"
  | "javascript"
  | "symbol"
  | "javascriptWithScope"
  | "int"
  | "timestamp"
  | "long"
  | "decimal"
  | "minKey"
  | "maxKey"
  | "missing";

export const BSON_TYPE_CODES: Readonly<Record<Exclude<BsonTypeName, "missing">, number>> = {
  double: 1,
  string: 2,
  object: 3,
  array: 4,
  binData: 5,
  undefined: 6,
  objectId: 7,
  bool: 8,
  date: 9,
  null: 10,
  regex: 11,
  dbPointer: 12,
  javascript: 13,
  symbol: 14,
  javascriptWithScope: 15,
  int: 16,
  timestamp: 17,
  long: 18,
  decimal: 19,
  minKey: -1,
  maxKey: 127,
};

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** The `_bsontype` tag that `bson` classes carry, or undefined for anything else. */
export function bsonTag(value: object): string | undefined {
  const tag = (value as { _bsontype?: unknown })._bsontype;
  return typeof tag === "string" ? tag : undefined;
}

/**
 * The BSON type of a JS value. Plain JS numbers carry no int/double distinction, so Eddy classifies them
 * as MongoDB's JSON parser does: an integer in int32 range is `int`, a larger safe integer `long`, the rest
 * `double` (see docs/mql-differences.md).
 */
export function bsonTypeOf(value: unknown): BsonTypeName {
  switch (typeof value) {
    case "number":
      if (Number.isInteger(value) && !Object.is(value, -0)) {
        if (value >= INT32_MIN && value <= INT32_MAX) return "int";
        if (Number.isSafeInteger(value)) return "long";
      }
      return "double";
    case "string":
      return "string";
    case "boolean":
      return "bool";
    case "undefined":
      return "missing";
    case "bigint":
      return "long";
    case "function":
      return "javascript";
    case "symbol":
      return "symbol";
    case "object":
      break;
  }
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Date) return "date";
  if (value instanceof RegExp) return "regex";
  switch (bsonTag(value)) {
    case undefined:
      return "object";
    case "ObjectId":
      return "objectId";
    case "Binary":
      return "binData";
    case "Long":
      return "long";
    case "Int32":
      return "int";
    case "Double":
      return "double";
    case "Decimal128":
      return "decimal";
    case "Timestamp":
      return "timestamp";
    case "MinKey":
      return "minKey";
    case "MaxKey":
      return "maxKey";
    case "BSONRegExp":
      return "regex";
    case "Code":
      return (value as { scope?: unknown }).scope ? "javascriptWithScope" : "javascript";
    case "BSONSymbol":
      return "symbol";
    case "DBRef":
      return "object";
    default:
      return "object";
  }
}

/**
 * Canonical sort rank of a type, MongoDB's `canonicalizeBSONType`: values of different ranks compare by
 * rank; numbers share one rank, as do strings and symbols. Missing sorts before null.
 */
export function canonicalRank(type: BsonTypeName): number {
  switch (type) {
    case "minKey":
      return -1;
    case "missing":
    case "undefined":
      return 0;
    case "null":
      return 5;
    case "int":
    case "long":
    case "double":
    case "decimal":
      return 10;
    case "string":
    case "symbol":
      return 15;
    case "object":
      return 20;
    case "array":
      return 25;
    case "binData":
      return 30;
    case "objectId":
      return 35;
    case "bool":
      return 40;
    case "date":
      return 45;
    case "timestamp":
      return 47;
    case "regex":
      return 50;
    case "dbPointer":
      return 55;
    case "javascript":
      return 60;
    case "javascriptWithScope":
      return 65;
    case "maxKey":
      return 127;
  }
}

export function isNumericType(type: BsonTypeName): boolean {
  return type === "int" || type === "long" || type === "double" || type === "decimal";
}

/** True for JS numbers and the `bson` numeric classes. */
export function isNumber(value: unknown): boolean {
  if (typeof value === "number") return true;
  if (typeof value !== "object" || value === null) return false;
  const tag = bsonTag(value);
  return tag === "Long" || tag === "Int32" || tag === "Double" || tag === "Decimal128";
}

/** A plain document (not an array, Date, RegExp or `bson` value). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  if (value instanceof Date || value instanceof RegExp) return false;
  const tag = bsonTag(value);
  return tag === undefined || tag === "DBRef";
}

/** Converts any non-decimal numeric value to a JS number (Long values beyond 2^53 lose precision). */
export function toJsNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  const tag = typeof value === "object" && value !== null ? bsonTag(value) : undefined;
  if (tag === "Long") return (value as Long).toNumber();
  if (tag === "Int32" || tag === "Double") return (value as { value: number }).value;
  if (tag === "Decimal128") return Number((value as Decimal128).toString());
  return NaN;
}

export type { Binary, ObjectId, Timestamp };
export { Decimal128, Long };

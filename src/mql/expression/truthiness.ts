import { bsonTag } from "../bson-types.ts";

/**
 * Aggregation truthiness (`Value::coerceToBool`): false, null, missing, undefined and numeric zero of any
 * type are false; everything else, including empty arrays, empty strings and NaN, is true.
 */
export function isTruthy(value: unknown): boolean {
  if (value === true) return true;
  if (value === false || value === null || value === undefined) return false;
  if (typeof value === "number") return value !== 0;
  if (typeof value !== "object") return value !== 0n;
  switch (bsonTag(value)) {
    case "Int32":
    case "Double":
      return (value as { value: number }).value !== 0;
    case "Long":
      return !(value as { isZero(): boolean }).isZero();
    case "Decimal128": {
      const text = String(value);
      return !/^[+-]?0*\.?0*(E[+-]?\d+)?$/i.test(text);
    }
    default:
      return true;
  }
}

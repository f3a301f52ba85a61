/**
 * Document values as `pg` query parameters. Scalars map to their natural PostgreSQL input (dates stay
 * dates, 64-bit integers and decimals keep every digit as text); documents and arrays become relaxed
 * Extended JSON text, which a `json`/`jsonb` column parses.
 */
import { stringifyExtendedJson } from "../../codec/ejson.ts";
import { bsonTag } from "../../mql/bson-types.ts";

export type ParameterValue = string | number | boolean | Date | Buffer | null;

export function toParameter(value: unknown): ParameterValue {
  if (value === undefined || value === null) return null;
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "bigint":
      return value.toString();
    case "object":
      break;
    default:
      return String(value);
  }
  if (value instanceof Date) return value;
  if (Buffer.isBuffer(value)) return value;
  switch (bsonTag(value)) {
    case "ObjectId":
    case "Decimal128":
    case "Long":
      return String(value);
    case "Int32":
    case "Double":
      return (value as { valueOf(): number }).valueOf();
    case "Binary":
      return Buffer.from((value as { buffer: Uint8Array }).buffer);
    case "Timestamp":
      return new Date((value as { t: number }).t * 1000);
    default:
      return stringifyExtendedJson(value);
  }
}

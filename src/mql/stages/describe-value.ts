import { bsonTag, bsonTypeOf, isPlainObject } from "../bson-types.ts";

/** Longest text an error message quotes for one value before cutting it with "...". */
const MAX_QUOTED = 1000;

/**
 * A value written as MongoDB's `Value::toString` writes it in error messages: `{a: 1, b: "x"}`,
 * `[1, 2]`, `MISSING`, cut at ~1000 characters.
 */
export function formatValueForError(value: unknown): string {
  const text = format(value);
  return text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}...` : text;
}

function format(value: unknown): string {
  if (value === undefined) return "MISSING";
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  if (Array.isArray(value)) return `[${value.map(format).join(", ")}]`;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Date(NaN)" : value.toISOString();
  if (isPlainObject(value)) {
    const fields = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .map((k) => `${k}: ${format(value[k])}`);
    return `{${fields.join(", ")}}`;
  }
  const tag = typeof value === "object" ? bsonTag(value) : undefined;
  if (tag === "ObjectId") return `ObjectId('${String((value as { toHexString(): string }).toHexString())}')`;
  if (tag !== undefined) return `${bsonTypeOf(value)}(${String(value)})`;
  return String(value);
}

import { isPlainObject } from "../bson-types.ts";

/** A value as MongoDB prints it inside an error message: strings quoted, documents and arrays as JSON. */
export function describeForMessage(value: unknown): string {
  if (value === undefined) return "missing";
  if (typeof value === "string") return JSON.stringify(value);
  if (isPlainObject(value) || Array.isArray(value)) {
    try {
      return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    } catch {
      return String(value);
    }
  }
  return String(value);
}

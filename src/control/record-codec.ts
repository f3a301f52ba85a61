import { Double, EJSON, Int32 } from "bson";

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

/** Rough bytes a JS value holds, for `AccumulatorSpec.stateSize` (V8 object headers, 8-byte slots). */
export function approximateSize(value: unknown): number {
  switch (typeof value) {
    case "number":
    case "boolean":
    case "undefined":
      return 8;
    case "string":
      return 16 + value.length * 2;
    case "bigint":
      return 16;
    case "object":
      break;
    default:
      return 16;
  }
  if (value === null) return 8;
  if (Array.isArray(value)) {
    let size = 16 + value.length * 8;
    for (const item of value)
      if (typeof item === "object" || typeof item === "string") size += approximateSize(item);
    return size;
  }
  if (value instanceof Date) return 32;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return 48; // a bson value (Long, Decimal128, ObjectId…)
  let size = 24;
  for (const key of Object.keys(value))
    size += 8 + approximateSize(key) + approximateSize((value as Record<string, unknown>)[key]);
  return size;
}

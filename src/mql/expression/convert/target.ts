import { BSON_TYPE_CODES, bsonTypeOf, isPlainObject, type BsonTypeName } from "../../bson-types.ts";
import { isNumericValue, numberOf } from "../../numeric.ts";

/** A resolved `to` argument of `$convert`. */
export interface ConvertTarget {
  readonly type: BsonTypeName;
  readonly subtype: number | undefined;
}

const TYPE_BY_CODE = new Map<number, BsonTypeName>(
  Object.entries(BSON_TYPE_CODES).map(([name, code]) => [code, name as BsonTypeName]),
);

/** Resolves `to` (a type name, a numeric type code or `{type, subtype}`); returns an error text when invalid. */
export function resolveConvertTarget(to: unknown): ConvertTarget | string {
  if (typeof to === "string") {
    if (!Object.hasOwn(BSON_TYPE_CODES, to)) return `Unknown type name: ${to}`;
    return { type: to as BsonTypeName, subtype: undefined };
  }
  if (isNumericValue(to)) {
    const code = numberOf(to);
    const type = TYPE_BY_CODE.get(code);
    if (!Number.isInteger(code) || type === undefined)
      return `In $convert, numeric 'to' argument is not a valid type: ${code}`;
    return { type, subtype: undefined };
  }
  if (isPlainObject(to)) {
    for (const key of Object.keys(to)) {
      if (key !== "type" && key !== "subtype") return `$convert's 'to' object has an unknown field: ${key}`;
    }
    const base = resolveConvertTarget(to.type);
    if (typeof base === "string") return base;
    if (to.subtype === undefined) return base;
    const subtype = isNumericValue(to.subtype) ? numberOf(to.subtype) : NaN;
    if (!Number.isInteger(subtype) || subtype < 0 || subtype > 255) {
      return `$convert's 'to.subtype' must be an integer between 0 and 255, but is ${bsonTypeOf(to.subtype)}`;
    }
    return { type: base.type, subtype };
  }
  return `$convert's 'to' argument must be a string or number, but is ${bsonTypeOf(to)}`;
}

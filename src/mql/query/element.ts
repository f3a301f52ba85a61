import { BSON_TYPE_CODES, bsonTypeOf, isNumber, type BsonTypeName } from "../bson-types.ts";
import { MqlCompileError } from "../errors.ts";
import type { ValueTest } from "./path.ts";

const NUMERIC_TYPES: readonly BsonTypeName[] = ["double", "int", "long", "decimal"];

const TYPE_BY_CODE = new Map<number, BsonTypeName>(
  Object.entries(BSON_TYPE_CODES).map(([name, code]) => [code, name as BsonTypeName]),
);

/** `$exists: true` for one value: anything but missing. */
export const exists: ValueTest = (value) => value !== undefined;

/**
 * Resolves one `$type` / `bsonType` argument (a type name, the alias "number", or a numeric code) to
 * the BSON types it stands for.
 */
export function resolveTypeAlias(alias: unknown, path: string): readonly BsonTypeName[] {
  if (typeof alias === "string") {
    if (alias === "number") return NUMERIC_TYPES;
    if (alias in BSON_TYPE_CODES) return [alias as BsonTypeName];
    throw new MqlCompileError(path, `Unknown type name alias: ${alias}`);
  }
  if (isNumber(alias)) {
    const code = Number(alias);
    const name = Number.isInteger(code) ? TYPE_BY_CODE.get(code) : undefined;
    if (name) return [name];
    throw new MqlCompileError(path, `Invalid numerical type code: ${String(alias)}`);
  }
  throw new MqlCompileError(path, `type must be represented as a number or a string, got ${typeof alias}`);
}

/** The set of BSON types a `$type` argument (one alias or an array of them) names. */
export function resolveTypeSet(arg: unknown, path: string, keyword: string): ReadonlySet<BsonTypeName> {
  const list = Array.isArray(arg) ? arg : [arg];
  if (list.length === 0) throw new MqlCompileError(path, `${keyword} must match at least one type`);
  const types = new Set<BsonTypeName>();
  list.forEach((alias: unknown, i) => {
    for (const t of resolveTypeAlias(alias, Array.isArray(arg) ? `${path}[${i}]` : path)) types.add(t);
  });
  return types;
}

/** `$type`: the value's BSON type is one of the named ones (missing never matches). */
export function compileType(arg: unknown, path: string): ValueTest {
  const types = resolveTypeSet(arg, path, "$type");
  if (types.size === 1) {
    const [only] = types;
    return (value) => value !== undefined && bsonTypeOf(value) === only;
  }
  return (value) => value !== undefined && types.has(bsonTypeOf(value));
}

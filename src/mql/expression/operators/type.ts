import { bsonTypeOf, type BsonTypeName } from "../../bson-types.ts";
import { isNumericValue } from "../../numeric.ts";
import type { Evaluator } from "../../types.ts";
import { BINARY_FORMATS, type BinaryFormat, BYTE_ORDERS, type ByteOrder } from "../convert/binary.ts";
import { convertValue, type ConvertOptions, DEFAULT_CONVERT_OPTIONS } from "../convert/convert.ts";
import { ConversionFailure } from "../convert/failure.ts";
import { resolveConvertTarget, type ConvertTarget } from "../convert/target.ts";
import { isLiteralExpression } from "../compile.ts";
import { hashedIndexKey } from "../hashed-index-key.ts";
import {
  compileArgs,
  describeValue,
  expectObjectArgs,
  type ExprContext,
  type OperatorCompiler,
} from "../context.ts";
import { foldConstants } from "../fold.ts";

const CONVERSION_FAILURE_CODE = 241;

function constantOption<T extends string>(
  obj: Record<string, unknown>,
  key: string,
  allowed: readonly T[],
  ctx: ExprContext,
): T | undefined {
  if (!(key in obj)) return undefined;
  const value = obj[key];
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw ctx.error(
      `'${key}' must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${describeValue(value)}`,
      `${ctx.path}.${key}`,
    );
  }
  return value as T;
}

/**
 * `$convert: {input, to, onError?, onNull?, format?, byteOrder?}`. A constant `to` is resolved at compile
 * time; `format`/`byteOrder` are ASP's binData options.
 */
function compileConvert(args: unknown, ctx: ExprContext): Evaluator {
  const obj = expectObjectArgs(args, ctx, ["input", "to"], ["onError", "onNull", "format", "byteOrder"]);
  const input = ctx.compile(obj.input, `${ctx.path}.input`);
  const onError = "onError" in obj ? ctx.compile(obj.onError, `${ctx.path}.onError`) : undefined;
  const onNull = "onNull" in obj ? ctx.compile(obj.onNull, `${ctx.path}.onNull`) : undefined;
  const format = constantOption<BinaryFormat>(obj, "format", BINARY_FORMATS, ctx);
  const byteOrder = constantOption<ByteOrder>(obj, "byteOrder", BYTE_ORDERS, ctx) ?? "little";

  // A `to` known only at run time may be invalid: that failure is a conversion error (onError applies).
  let target: (
    root: Parameters<Evaluator>[0],
    vars: Parameters<Evaluator>[1],
  ) => ConvertTarget | string | undefined;
  if (isLiteralExpression(obj.to) && obj.to !== null) {
    const resolved = resolveConvertTarget(obj.to);
    if (typeof resolved === "string") throw ctx.error(resolved, `${ctx.path}.to`);
    target = () => resolved;
  } else {
    const to = ctx.compile(obj.to, `${ctx.path}.to`);
    target = (root, vars) => {
      const value = to(root, vars);
      return value === null || value === undefined ? undefined : resolveConvertTarget(value);
    };
  }
  const optionsFor = (t: ConvertTarget): ConvertOptions => ({ byteOrder, format, subtype: t.subtype });
  const fixedOptions: ConvertOptions = { byteOrder, format, subtype: undefined };

  return (root, vars) => {
    const t = target(root, vars);
    const value = input(root, vars);
    if (value === null || value === undefined) return onNull ? onNull(root, vars) : null;
    if (!t) return null;
    if (typeof t === "string") {
      if (onError) return onError(root, vars);
      throw ctx.runtimeError(t, 9);
    }
    try {
      return convertValue(value, t.type, t.subtype === undefined ? fixedOptions : optionsFor(t));
    } catch (err) {
      if (!(err instanceof ConversionFailure)) throw err;
      if (onError) return onError(root, vars);
      throw ctx.runtimeError(err.message, CONVERSION_FAILURE_CODE);
    }
  };
}

/** `$toInt` and friends: `$convert` to a fixed type with no `onError`/`onNull`. */
function shorthand(to: BsonTypeName, fast?: (v: unknown) => boolean): OperatorCompiler {
  return (args, ctx) => {
    const [arg] = compileArgs(args, ctx, 1);
    return (root, vars) => {
      const value = arg(root, vars);
      if (value === null || value === undefined) return null;
      if (fast?.(value)) return value;
      try {
        return convertValue(value, to, DEFAULT_CONVERT_OPTIONS);
      } catch (err) {
        if (err instanceof ConversionFailure) throw ctx.runtimeError(err.message, CONVERSION_FAILURE_CODE);
        throw err;
      }
    };
  };
}

const isInt32Number = (v: unknown): boolean => typeof v === "number" && (v | 0) === v && !Object.is(v, -0);

export const typeOperators = foldConstants({
  $convert: compileConvert,
  $toInt: shorthand("int", isInt32Number),
  $toLong: shorthand("long"),
  $toDouble: shorthand("double", (v) => typeof v === "number"),
  $toDecimal: shorthand("decimal"),
  $toString: shorthand("string", (v) => typeof v === "string"),
  $toBool: shorthand("bool", (v) => typeof v === "boolean"),
  $toObjectId: shorthand("objectId"),
  $toDate: shorthand("date", (v) => v instanceof Date),
  $type: (args, ctx) => {
    const [arg] = compileArgs(args, ctx, 1);
    return (root, vars) => bsonTypeOf(arg(root, vars));
  },
  $toHashedIndexKey: (args, ctx) => {
    const [arg] = compileArgs(args, ctx, 1);
    return (root, vars) => hashedIndexKey(arg(root, vars));
  },
  $isNumber: (args, ctx) => {
    const [arg] = compileArgs(args, ctx, 1);
    return (root, vars) => isNumericValue(arg(root, vars));
  },
});

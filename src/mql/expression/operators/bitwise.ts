import { Long } from "bson";
import { bsonTypeOf } from "../../bson-types.ts";
import { INT, LONG, numericKind } from "../../numeric.ts";
import type { Evaluator } from "../../types.ts";
import { compileArgs, type ExprContext, type OperatorTable } from "../context.ts";
import { foldConstants } from "../fold.ts";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * An integral operand as a bigint plus whether it is a long (MongoDB 6.3+ `$bit*` accept only int and long).
 * JS numbers follow the core value model: an integer in int32 range is an int, a larger one a long.
 */
function integralOperand(
  value: unknown,
  ctx: ExprContext,
): { readonly bits: bigint; readonly long: boolean } {
  const kind = numericKind(value);
  if (kind === INT) {
    const n = typeof value === "number" ? value : (value as { value: number }).value;
    return { bits: BigInt(n), long: n < INT32_MIN || n > INT32_MAX };
  }
  if (kind === LONG)
    return { bits: typeof value === "bigint" ? value : (value as Long).toBigInt(), long: true };
  // MongoDB's text, plus the type found.
  throw ctx.runtimeError(
    `${ctx.operator} only supports int and long operands, found ${bsonTypeOf(value)}`,
    14, // TypeMismatch
  );
}

/** The result in MongoDB's type: an int when every operand was an int, else a 64-bit long. */
function bitwiseResult(bits: bigint, long: boolean): unknown {
  return long ? Long.fromBigInt(BigInt.asIntN(64, bits)) : Number(BigInt.asIntN(32, bits));
}

/** `$bitAnd`/`$bitOr`/`$bitXor`: any number of int/long operands; null or missing anywhere ⇒ null. */
function variadicBitwise(identity: bigint, combine: (a: bigint, b: bigint) => bigint) {
  return (args: unknown, ctx: ExprContext): Evaluator => {
    const items = compileArgs(args, ctx, 0, Infinity);
    return (root, vars) => {
      let bits = identity;
      let long = false;
      for (const item of items) {
        const value = item(root, vars);
        if (value === null || value === undefined) return null;
        const operand = integralOperand(value, ctx);
        bits = combine(bits, operand.bits);
        long ||= operand.long;
      }
      return bitwiseResult(bits, long);
    };
  };
}

function compileBitNot(args: unknown, ctx: ExprContext): Evaluator {
  const [arg] = compileArgs(args, ctx, 1);
  return (root, vars) => {
    const value = arg(root, vars);
    if (value === null || value === undefined) return null;
    const operand = integralOperand(value, ctx);
    return bitwiseResult(~operand.bits, operand.long);
  };
}

export const bitwiseOperators: OperatorTable = foldConstants({
  $bitAnd: variadicBitwise(-1n, (a, b) => a & b),
  $bitOr: variadicBitwise(0n, (a, b) => a | b),
  $bitXor: variadicBitwise(0n, (a, b) => a ^ b),
  $bitNot: compileBitNot,
});

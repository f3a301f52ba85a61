import { bsonTag, isNumber, toJsNumber, type Binary, type Long } from "../bson-types.ts";
import { toDecimal } from "../compare.ts";
import { MqlCompileError } from "../errors.ts";
import type { ValueTest } from "./path.ts";

export type BitwiseOperator = "$bitsAllSet" | "$bitsAnySet" | "$bitsAllClear" | "$bitsAnyClear";

export const BITWISE_OPERATORS: ReadonlySet<string> = new Set([
  "$bitsAllSet",
  "$bitsAnySet",
  "$bitsAllClear",
  "$bitsAnyClear",
]);

/** Bit positions from a bitmask number, an array of positions, or BinData (little-endian bytes). */
function bitPositions(arg: unknown, path: string, op: string): number[] {
  if (Array.isArray(arg)) {
    return arg.map((p: unknown, i) => {
      const n = isNumber(p) ? toJsNumber(p) : NaN;
      if (!Number.isInteger(n))
        throw new MqlCompileError(`${path}[${i}]`, `bit positions must be an integer but got: ${String(p)}`);
      if (n < 0) throw new MqlCompileError(`${path}[${i}]`, `bit positions must be >= 0 but got: ${n}`);
      return n;
    });
  }
  if (isNumber(arg)) {
    const mask = toInt64(arg);
    if (mask === undefined)
      throw new MqlCompileError(
        path,
        `${op} takes an Array, a number, or a BinData but received: ${String(arg)}`,
      );
    if (mask < 0n)
      throw new MqlCompileError(path, `${op} requires a non-negative number, got ${String(arg)}`);
    const out: number[] = [];
    for (let bit = 0; bit < 63; bit++) if ((mask >> BigInt(bit)) & 1n) out.push(bit);
    return out;
  }
  if (typeof arg === "object" && arg !== null && bsonTag(arg) === "Binary") return binaryBits(arg as Binary);
  throw new MqlCompileError(
    path,
    `${op} takes an Array, a number, or a BinData but received: ${String(arg)}`,
  );
}

function binaryBits(bin: Binary): number[] {
  const bytes = bin.buffer.subarray(0, bin.position);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++)
    for (let b = 0; b < 8; b++) if (bytes[i] & (1 << b)) out.push(i * 8 + b);
  return out;
}

/** An integral numeric value as a 64-bit integer; undefined when not integral or out of range. */
function toInt64(value: unknown): bigint | undefined {
  let big: bigint;
  if (typeof value === "object" && value !== null && bsonTag(value) === "Long")
    big = (value as Long).toBigInt();
  else if (typeof value === "object" && value !== null && bsonTag(value) === "Decimal128") {
    const d = toDecimal(value);
    if (!d.isInteger()) return undefined;
    big = BigInt(d.toFixed());
  } else {
    const n = toJsNumber(value);
    if (!Number.isInteger(n)) return undefined;
    big = BigInt(n);
  }
  return big >= -(2n ** 63n) && big < 2n ** 63n ? big : undefined;
}

/** `$bitsAllSet` and friends (`BitTestMatchExpression`): integral numbers (two's complement) and BinData. */
export function compileBitwise(op: BitwiseOperator, arg: unknown, path: string): ValueTest {
  const positions = bitPositions(arg, path, op);
  const wantSet = op === "$bitsAllSet" || op === "$bitsAnySet";
  const all = op === "$bitsAllSet" || op === "$bitsAllClear";
  const check = (isSet: (bit: number) => boolean): boolean => {
    for (const bit of positions) {
      const ok = isSet(bit) === wantSet;
      if (all && !ok) return false;
      if (!all && ok) return true;
    }
    return all;
  };
  return (value) => {
    if (isNumber(value)) {
      const n = toInt64(value);
      if (n === undefined) return false;
      // Bits past 63 repeat the sign bit.
      return check((bit) => ((n >> BigInt(Math.min(bit, 63))) & 1n) === 1n);
    }
    if (typeof value === "object" && value !== null && bsonTag(value) === "Binary") {
      const bytes = (value as Binary).buffer.subarray(0, (value as Binary).position);
      return check((bit) => bit >> 3 < bytes.length && (bytes[bit >> 3] & (1 << (bit & 7))) !== 0);
    }
    return false;
  };
}

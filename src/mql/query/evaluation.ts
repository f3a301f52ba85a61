import { Decimal } from "decimal.js";
import { bsonTag, isNumber, type Long } from "../bson-types.ts";
import { toDecimal } from "../compare.ts";
import { MqlCompileError } from "../errors.ts";
import type { ValueTest } from "./path.ts";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A numeric value truncated toward zero to a 64-bit integer, or undefined when it has none (NaN, ±∞, too big). */
function truncateToInt64(value: unknown): bigint | undefined {
  let result: bigint;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return undefined;
    result = BigInt(Math.trunc(value));
  } else if (typeof value === "bigint") {
    result = value;
  } else {
    const tag = typeof value === "object" && value !== null ? bsonTag(value) : undefined;
    if (tag === "Long") return (value as Long).toBigInt();
    if (tag === "Int32" || tag === "Double") return truncateToInt64((value as { value: number }).value);
    if (tag !== "Decimal128") return undefined;
    const d = toDecimal(value);
    if (!d.isFinite()) return undefined;
    result = BigInt(d.toDecimalPlaces(0, Decimal.ROUND_DOWN).toFixed());
  }
  return result >= INT64_MIN && result <= INT64_MAX ? result : undefined;
}

/** `$mod: [divisor, remainder]` (`ModMatchExpression`): numeric values whose truncated value has that remainder. */
export function compileMod(arg: unknown, path: string): ValueTest {
  if (!Array.isArray(arg)) throw new MqlCompileError(path, "malformed mod, needs to be an array");
  if (arg.length < 2) throw new MqlCompileError(path, "malformed mod, not enough elements");
  if (arg.length > 2) throw new MqlCompileError(path, "malformed mod, too many elements");
  const [d, r] = arg as unknown[];
  if (!isNumber(d)) throw new MqlCompileError(path, "malformed mod, divisor not a number");
  if (!isNumber(r)) throw new MqlCompileError(path, "malformed mod, remainder not a number");
  const divisor = truncateToInt64(d);
  const remainder = truncateToInt64(r);
  if (divisor === undefined) throw new MqlCompileError(path, "malformed mod, divisor value is invalid");
  if (remainder === undefined) throw new MqlCompileError(path, "malformed mod, remainder value is invalid");
  if (divisor === 0n) throw new MqlCompileError(path, "divisor cannot be 0");
  const smallDivisor = Number(divisor);
  const smallRemainder = Number(remainder);
  const small = Number.isSafeInteger(smallDivisor) && Number.isSafeInteger(smallRemainder);
  return (value) => {
    if (small && typeof value === "number" && Number.isSafeInteger(value)) {
      const m = value % smallDivisor;
      return (m === 0 ? 0 : m) === smallRemainder;
    }
    if (!isNumber(value)) return false;
    const dividend = truncateToInt64(value);
    // safeMod: LLONG_MIN % -1 overflows in C++; MongoDB defines it as 0, as BigInt does.
    return dividend !== undefined && dividend % divisor === remainder;
  };
}

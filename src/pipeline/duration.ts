import { isNumber, toJsNumber } from "../mql/bson-types.ts";
import type { Spec } from "./spec.ts";

/** ASP duration units and their length in milliseconds (`day` = 86 400 s). */
export const DURATION_UNITS = {
  ms: 1,
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
} as const;
export type DurationUnit = keyof typeof DURATION_UNITS;
const UNIT_NAMES = Object.keys(DURATION_UNITS) as DurationUnit[];

export interface Duration {
  readonly size: number;
  readonly ms: number;
}

/** Reads `{size: <int>, unit: "ms"|"second"|"minute"|"hour"|"day"}` at `field`; undefined if absent or invalid. */
export function readDuration(spec: Spec, field: string, required = false): Duration | undefined {
  if (!spec.has(field)) return required ? spec.missing(field) : undefined;
  const inner = spec.object(field, ["size", "unit"]);
  if (!inner) return undefined;
  const size = inner.int("size", true);
  const unit = inner.enumOf("unit", UNIT_NAMES, true);
  if (size === undefined || unit === undefined) return undefined;
  return { size, ms: size * DURATION_UNITS[unit] };
}

/**
 * Reads a duration that may also be the integer `0` (ASP's `allowedLateness`/`idleTimeout`); any other bare
 * number is rejected with `nonZeroMessage`.
 */
export function readDurationOrZero(spec: Spec, field: string, nonZeroMessage: string): Duration | undefined {
  const value = spec.raw(field);
  if (isNumber(value)) {
    if (toJsNumber(value) === 0) return { size: 0, ms: 0 };
    return spec.error(field, nonZeroMessage);
  }
  return readDuration(spec, field);
}

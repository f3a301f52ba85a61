import {
  civilFromDays,
  daysFromCivil,
  daysInMonth,
  floorDiv,
  floorMod,
  MS_PER_DAY,
  MS_PER_HOUR,
  MS_PER_MINUTE,
  MS_PER_SECOND,
} from "./calendar.ts";
import type { TimeZone } from "./timezone.ts";

export type TimeUnit =
  "year" | "quarter" | "month" | "week" | "day" | "hour" | "minute" | "second" | "millisecond";

export const TIME_UNITS: ReadonlySet<string> = new Set<TimeUnit>([
  "year",
  "quarter",
  "month",
  "week",
  "day",
  "hour",
  "minute",
  "second",
  "millisecond",
]);

const FIXED_UNIT_MS: Readonly<Partial<Record<TimeUnit, number>>> = {
  hour: MS_PER_HOUR,
  minute: MS_PER_MINUTE,
  second: MS_PER_SECOND,
  millisecond: 1,
};

const DAY_NAMES = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

/** 0 = Sunday … 6 = Saturday for a `startOfWeek` value (full or three-letter name, any case), or -1. */
export function parseStartOfWeek(name: string): number {
  const lower = name.toLowerCase();
  return DAY_NAMES.findIndex((day) => day === lower || day.slice(0, 3) === lower);
}

function localMs(utcMs: number, zone: TimeZone): number {
  return zone.isUtc ? utcMs : utcMs + zone.offsetAt(utcMs);
}

function fromLocal(local: number, zone: TimeZone): number {
  return zone.isUtc ? local : zone.fromLocal(local);
}

/** `$dateAdd`: fixed units add elapsed time; day and larger units move the wall clock in `zone`. */
export function addToDate(utcMs: number, unit: TimeUnit, amount: number, zone: TimeZone): number {
  const fixed = FIXED_UNIT_MS[unit];
  if (fixed !== undefined) return utcMs + amount * fixed;
  const local = localMs(utcMs, zone);
  if (unit === "day" || unit === "week") {
    return fromLocal(local + amount * (unit === "week" ? 7 : 1) * MS_PER_DAY, zone);
  }
  const months = amount * (unit === "year" ? 12 : unit === "quarter" ? 3 : 1);
  const days = floorDiv(local, MS_PER_DAY);
  const timeOfDay = local - days * MS_PER_DAY;
  const { year, month, day } = civilFromDays(days);
  const total = year * 12 + (month - 1) + months;
  const newYear = floorDiv(total, 12);
  const newMonth = floorMod(total, 12) + 1;
  // Month-end clamping: Jan 31 + 1 month is the last day of February.
  const newDay = Math.min(day, daysInMonth(newYear, newMonth));
  return fromLocal(daysFromCivil(newYear, newMonth, newDay) * MS_PER_DAY + timeOfDay, zone);
}

/** `$dateDiff`: the number of `unit` boundaries crossed between two instants, counted in `zone`. */
export function dateDifference(
  startMs: number,
  endMs: number,
  unit: TimeUnit,
  zone: TimeZone,
  startOfWeek: number,
): number {
  if (unit === "millisecond") return endMs - startMs;
  const startLocal = localMs(startMs, zone);
  const endLocal = localMs(endMs, zone);
  if (unit === "hour" || unit === "minute" || unit === "second") {
    // MongoDB counts boundaries of the wall clock, then corrects by the change in UTC offset (whole
    // units only, truncated), so DST transitions neither add nor lose units.
    const size = FIXED_UNIT_MS[unit] as number;
    const offsetChange = startLocal - startMs - (endLocal - endMs);
    return floorDiv(endLocal, size) - floorDiv(startLocal, size) + Math.trunc(offsetChange / size);
  }
  const startDays = floorDiv(startLocal, MS_PER_DAY);
  const endDays = floorDiv(endLocal, MS_PER_DAY);
  if (unit === "day") return endDays - startDays;
  if (unit === "week") {
    // Day number d is weekday (d + 4) mod 7; shifting by the week start makes weeks begin at multiples of 7.
    const week = (d: number): number => floorDiv(d + 4 - startOfWeek, 7);
    return week(endDays) - week(startDays);
  }
  const a = civilFromDays(startDays);
  const b = civilFromDays(endDays);
  if (unit === "year") return b.year - a.year;
  if (unit === "quarter")
    return b.year * 4 + floorDiv(b.month - 1, 3) - (a.year * 4 + floorDiv(a.month - 1, 3));
  return b.year * 12 + b.month - (a.year * 12 + a.month);
}

/** 2000-01-01 as a day number: MongoDB's reference point for `$dateTrunc` bins. */
const REFERENCE_DAY = 10957;

/** `$dateTrunc`: the start of the `binSize`-unit bin holding the instant, bins counted from 2000-01-01 in `zone`. */
export function truncateDate(
  utcMs: number,
  unit: TimeUnit,
  binSize: number,
  zone: TimeZone,
  startOfWeek: number,
): number {
  const fixed = FIXED_UNIT_MS[unit];
  if (fixed !== undefined) {
    // Bins of elapsed time aligned to 2000-01-01T00:00 local, converted with the offset of that instant.
    const referenceUtc = REFERENCE_DAY * MS_PER_DAY;
    const reference = zone.isUtc ? referenceUtc : referenceUtc - zone.offsetAt(referenceUtc);
    return utcMs - floorMod(utcMs - reference, fixed * binSize);
  }
  const local = localMs(utcMs, zone);
  const days = floorDiv(local, MS_PER_DAY);
  if (unit === "day" || unit === "week") {
    const size = unit === "week" ? 7 * binSize : binSize;
    // For weeks the reference is the first `startOfWeek` day on or after 2000-01-01 (a Saturday).
    const reference = unit === "week" ? REFERENCE_DAY + floorMod(startOfWeek - 6, 7) : REFERENCE_DAY;
    return fromLocal((days - floorMod(days - reference, size)) * MS_PER_DAY, zone);
  }
  const { year, month } = civilFromDays(days);
  const size = binSize * (unit === "year" ? 12 : unit === "quarter" ? 3 : 1);
  const monthIndex = (year - 2000) * 12 + month - 1;
  const binStart = monthIndex - floorMod(monthIndex, size);
  return fromLocal(
    daysFromCivil(2000 + floorDiv(binStart, 12), floorMod(binStart, 12) + 1, 1) * MS_PER_DAY,
    zone,
  );
}

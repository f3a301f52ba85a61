/** Proleptic Gregorian calendar arithmetic on "local milliseconds" (wall-clock time encoded as if it were UTC). */

export const MS_PER_SECOND = 1000;
export const MS_PER_MINUTE = 60_000;
export const MS_PER_HOUR = 3_600_000;
export const MS_PER_DAY = 86_400_000;

/** Calendar fields of a local time. `dayOfWeek` is 0 = Sunday … 6 = Saturday. */
export interface CalendarParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

export function floorDiv(a: number, b: number): number {
  return Math.floor(a / b);
}

export function floorMod(a: number, b: number): number {
  const r = a % b;
  return r < 0 ? r + b : r;
}

/** Days since 1970-01-01 of a civil date (month 1-12); exact for any year. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = floorDiv(y, 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = floorDiv(153 * mp + 2, 5) + day - 1;
  const doe = yoe * 365 + floorDiv(yoe, 4) - floorDiv(yoe, 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The civil date of a day number (days since 1970-01-01). */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = floorDiv(z, 146097);
  const doe = z - era * 146097;
  const yoe = floorDiv(doe - floorDiv(doe, 1460) + floorDiv(doe, 36524) - floorDiv(doe, 146096), 365);
  const doy = doe - (365 * yoe + floorDiv(yoe, 4) - floorDiv(yoe, 100));
  const mp = floorDiv(5 * doy + 2, 153);
  const day = doy - floorDiv(153 * mp + 2, 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** 1-based day of the year. */
export function dayOfYear(year: number, month: number, day: number): number {
  return DAYS_BEFORE_MONTH[month - 1] + day + (month > 2 && isLeapYear(year) ? 1 : 0);
}

/** 0 = Sunday … 6 = Saturday for a day number. */
export function weekdayOfDays(days: number): number {
  return floorMod(days + 4, 7);
}

export function partsFromLocalMs(localMs: number): CalendarParts {
  const days = floorDiv(localMs, MS_PER_DAY);
  const msOfDay = localMs - days * MS_PER_DAY;
  const { year, month, day } = civilFromDays(days);
  return {
    year,
    month,
    day,
    hour: Math.floor(msOfDay / MS_PER_HOUR),
    minute: Math.floor(msOfDay / MS_PER_MINUTE) % 60,
    second: Math.floor(msOfDay / MS_PER_SECOND) % 60,
    millisecond: msOfDay % 1000,
  };
}

export function localMsFromParts(p: CalendarParts): number {
  return (
    daysFromCivil(p.year, p.month, p.day) * MS_PER_DAY +
    p.hour * MS_PER_HOUR +
    p.minute * MS_PER_MINUTE +
    p.second * MS_PER_SECOND +
    p.millisecond
  );
}

/** ISO-8601 week-numbering year, week (1-53) and weekday (1 = Monday … 7 = Sunday) of a day number. */
export function isoWeekOfDays(days: number): { isoWeekYear: number; isoWeek: number; isoDayOfWeek: number } {
  const isoDayOfWeek = floorMod(days + 3, 7) + 1;
  // The Thursday of this ISO week decides the ISO year.
  const thursday = days - isoDayOfWeek + 4;
  const { year } = civilFromDays(thursday);
  const isoWeek = floorDiv(thursday - daysFromCivil(year, 1, 1), 7) + 1;
  return { isoWeekYear: year, isoWeek, isoDayOfWeek };
}

/** Day number of the Monday of ISO week 1 of `isoYear`. */
export function isoYearStartDays(isoYear: number): number {
  const jan4 = daysFromCivil(isoYear, 1, 4);
  return jan4 - (floorMod(jan4 + 3, 7) + 1) + 1;
}

/** Week of the year with weeks starting on Sunday (0-53), as `%U` and `$week` define it. */
export function sundayWeekOfYear(year: number, dayOfYear1: number, weekday0: number): number {
  return floorDiv(dayOfYear1 - 1 + 7 - weekday0, 7);
}

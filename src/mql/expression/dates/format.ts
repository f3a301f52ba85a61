import {
  dayOfYear,
  floorDiv,
  isoWeekOfDays,
  MS_PER_DAY,
  MS_PER_MINUTE,
  partsFromLocalMs,
  sundayWeekOfYear,
  weekdayOfDays,
  type CalendarParts,
} from "./calendar.ts";

export const MONTH_NAMES = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** A format string MongoDB rejects; `code` is MongoDB's error code. */
export class DateFormatError extends Error {
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

/** Everything a specifier may need, derived once per formatted date. */
interface FormatInput {
  readonly parts: CalendarParts;
  readonly days: number;
  readonly offsetMs: number;
}

type Piece = string | ((input: FormatInput) => string);

const ZEROS = ["", "0", "00", "000"];

/** Zero-pads a non-negative number to `width` (1-4) digits; wider numbers are printed in full. */
function pad(value: number, width: number): string {
  const text = String(value);
  const missing = width - text.length;
  return missing > 0 ? ZEROS[missing] + text : text;
}

function checkedYear(year: number): string {
  if (year < 0 || year > 9999) {
    throw new DateFormatError(
      `Could not convert date to string: date component was outside the supported range of 0-9999: ${year}`,
      18537,
    );
  }
  return pad(year, 4);
}

const SPECIFIERS: Readonly<Record<string, (input: FormatInput) => string>> = {
  d: ({ parts }) => pad(parts.day, 2),
  G: ({ days }) => checkedYear(isoWeekOfDays(days).isoWeekYear),
  H: ({ parts }) => pad(parts.hour, 2),
  j: ({ parts }) => pad(dayOfYear(parts.year, parts.month, parts.day), 3),
  L: ({ parts }) => pad(parts.millisecond, 3),
  m: ({ parts }) => pad(parts.month, 2),
  M: ({ parts }) => pad(parts.minute, 2),
  S: ({ parts }) => pad(parts.second, 2),
  w: ({ days }) => String(weekdayOfDays(days) + 1),
  u: ({ days }) => String(isoWeekOfDays(days).isoDayOfWeek),
  U: ({ parts, days }) =>
    pad(sundayWeekOfYear(parts.year, dayOfYear(parts.year, parts.month, parts.day), weekdayOfDays(days)), 2),
  V: ({ days }) => pad(isoWeekOfDays(days).isoWeek, 2),
  Y: ({ parts }) => checkedYear(parts.year),
  z: ({ offsetMs }) => {
    const minutes = Math.trunc(offsetMs / MS_PER_MINUTE);
    const abs = Math.abs(minutes);
    return (minutes < 0 ? "-" : "+") + pad(Math.floor(abs / 60), 2) + pad(abs % 60, 2);
  },
  Z: ({ offsetMs }) => String(Math.trunc(offsetMs / MS_PER_MINUTE)),
  b: ({ parts }) => MONTH_NAMES[parts.month - 1].slice(0, 3),
  B: ({ parts }) => MONTH_NAMES[parts.month - 1],
};

/** Splits a format string into literal text and `%` specifiers; throws DateFormatError for bad ones. */
export function tokenizeFormat(
  format: string,
  allowed: string = Object.keys(SPECIFIERS).join(""),
): Array<string | { spec: string }> {
  const out: Array<string | { spec: string }> = [];
  let literal = "";
  for (let i = 0; i < format.length; i++) {
    const ch = format[i];
    if (ch !== "%") {
      literal += ch;
      continue;
    }
    if (i + 1 >= format.length) throw new DateFormatError("Unmatched '%' at end of format string", 18535);
    const spec = format[++i];
    if (spec === "%") {
      literal += "%";
      continue;
    }
    if (!allowed.includes(spec)) {
      throw new DateFormatError(`Invalid format character '%${spec}' in format string`, 18536);
    }
    if (literal) out.push(literal);
    literal = "";
    out.push({ spec });
  }
  if (literal) out.push(literal);
  return out;
}

/** A compiled `$dateToString` format: `(utcMs, localMs) => text`. */
export type DateFormatter = (utcMs: number, localMs: number) => string;

/** Compiles a format string once; the result formats an instant given its local wall-clock milliseconds. */
export function compileDateFormat(format: string): DateFormatter {
  const pieces: Piece[] = tokenizeFormat(format).map((t) => (typeof t === "string" ? t : SPECIFIERS[t.spec]));
  return (utcMs, localMs) => {
    const input: FormatInput = {
      parts: partsFromLocalMs(localMs),
      days: floorDiv(localMs, MS_PER_DAY),
      offsetMs: localMs - utcMs,
    };
    let out = "";
    for (const piece of pieces) out += typeof piece === "string" ? piece : piece(input);
    return out;
  };
}

import {
  type CalendarParts,
  daysFromCivil,
  daysInMonth,
  isoYearStartDays,
  localMsFromParts,
  MS_PER_DAY,
  MS_PER_HOUR,
  MS_PER_MINUTE,
  MS_PER_SECOND,
} from "./calendar.ts";
import { MONTH_NAMES, tokenizeFormat } from "./format.ts";
import { lookupTimeZone, type TimeZone } from "./timezone.ts";
import { readZoneDesignator } from "./zone-designator.ts";

/** A date string `$dateFromString` cannot parse; the message is MongoDB's. */
export class DateParseError extends Error {
  readonly code: number;
  constructor(message: string, code = 241) {
    super(message);
    this.code = code;
  }
}

/** A parsed date string: its wall-clock time, and the zone or offset the string itself carried. */
export interface ParsedDate {
  readonly localMs: number;
  readonly zone: TimeZone | undefined;
  /** How the string named its zone: a numeric offset, or an abbreviation such as `Z` (text kept for errors). */
  readonly zoneText?: ZoneText;
}

/** How a date string named its zone: a numeric offset, or an abbreviation such as `Z` (text kept for errors). */
interface ZoneText {
  readonly offset: boolean;
  readonly text: string;
}

export type DateStringParser = (text: string) => ParsedDate;

const ISO_DATE =
  /^\s*(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*([+-]\S*|[A-Za-z]\S*)?\s*$/;

function fail(text: string, reason: string): never {
  throw new DateParseError(`Error parsing date string '${text}'; ${reason}`);
}

/** The zone a date string carries at `pos`, and where it ends; fails as MongoDB does for names it refuses. */
function readZone(text: string, pos: number): { zone: TimeZone; zoneText: ZoneText; end: number } {
  const read = readZoneDesignator(text.slice(pos));
  if (!read) return fail(text, "The timezone could not be found in the database");
  const { designator } = read;
  if (designator.kind === "identifier")
    return fail(text, "passing a time zone identifier as part of the string is not allowed");
  return {
    zone: designator.zone,
    zoneText: { offset: designator.kind === "offset", text: designator.text },
    end: pos + read.length,
  };
}

function toLocalMs(text: string, f: CalendarParts): number {
  if (f.month < 1 || f.month > 12 || f.day < 1 || f.day > daysInMonth(f.year, f.month))
    fail(text, "The parsed date was invalid");
  if (f.hour > 23 || f.minute > 59 || f.second > 59) fail(text, "The parsed time was invalid");
  return localMsFromParts(f);
}

function fractionToMs(digits: string | undefined): number {
  if (!digits) return 0;
  return Math.floor(Number(`0.${digits}`) * 1000 + 1e-9);
}

/** Parses the ISO-8601 forms MongoDB accepts without a format: date, date-time, fractions, `Z`/offset/zone name. */
export function parseIsoDateString(text: string): ParsedDate {
  const m = ISO_DATE.exec(text);
  if (!m)
    fail(
      text,
      "the string does not match the ISO-8601 date forms Eddy supports (e.g. 2017-02-08T12:10:40.787Z)",
    );
  const localMs = toLocalMs(text, {
    year: Number(m[1]),
    month: Number(m[3]),
    day: Number(m[4]),
    hour: Number(m[5] ?? 0),
    minute: Number(m[6] ?? 0),
    second: Number(m[7] ?? 0),
    millisecond: fractionToMs(m[8]),
  });
  if (m[9] === undefined) return { localMs, zone: undefined };
  const zoneStart = text.lastIndexOf(m[9]);
  const { zone, zoneText, end } = readZone(text, zoneStart);
  if (end !== zoneStart + m[9].length) fail(text, "The timezone could not be found in the database");
  return { localMs, zone, zoneText };
}

type Step = (text: string, pos: number, state: FormatState) => number;

interface FormatState extends CalendarParts {
  /** Which of year, month, day the format set (MongoDB refuses a string that leaves one out). */
  seen: Set<string>;
  zoneText?: ZoneText;
  isoYear?: number;
  isoWeek?: number;
  isoDay?: number;
  yearDay?: number;
  zone?: TimeZone;
}

function digits(
  min: number,
  max: number,
  assign: (state: FormatState, value: number, raw: string) => void,
): Step {
  return (text, pos, state) => {
    let end = pos;
    while (end < text.length && end - pos < max && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57)
      end++;
    if (end - pos < min)
      fail(text, `expected ${min === max ? min : `${min} to ${max}`} digits at position ${pos}`);
    const raw = text.slice(pos, end);
    assign(state, Number(raw), raw);
    return end;
  };
}

function monthName(full: boolean): Step {
  return (text, pos, state) => {
    for (let i = 0; i < 12; i++) {
      const name = full ? MONTH_NAMES[i] : MONTH_NAMES[i].slice(0, 3);
      if (text.slice(pos, pos + name.length).toLowerCase() === name.toLowerCase()) {
        state.month = i + 1;
        state.seen.add("month");
        return pos + name.length;
      }
    }
    return fail(text, `expected a month name at position ${pos}`);
  };
}

/** `%z`: an offset, `GMT+hh[:mm]`, an abbreviation or a military letter, after optional blanks (timelib). */
const zoneStep: Step = (text, pos, state) => {
  const { zone, zoneText, end } = readZone(text, pos);
  state.zone = zone;
  state.zoneText = zoneText;
  return end;
};

const minutesOffsetStep: Step = (text, pos, state) => {
  const m = /^([+-])(\d{1,4})/.exec(text.slice(pos));
  if (!m) return fail(text, `expected a UTC offset in minutes at position ${pos}`);
  const minutes = Number(m[2]);
  const sign = m[1];
  const zone = lookupTimeZone(
    `${sign}${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`,
  );
  if (!zone) return fail(text, "The timezone could not be found in the database");
  state.zone = zone;
  state.zoneText = { offset: true, text: m[0] };
  return pos + m[0].length;
};

const STEPS: Readonly<Record<string, Step>> = {
  // timelib reads up to 4 digits for a year (1.1.1 with %V.%u.%G is year 1).
  Y: digits(1, 4, (s, v) => {
    s.year = v;
    s.seen.add("year");
  }),
  m: digits(1, 2, (s, v) => {
    s.month = v;
    s.seen.add("month");
  }),
  d: digits(1, 2, (s, v) => {
    s.day = v;
    s.seen.add("day");
  }),
  H: digits(1, 2, (s, v) => (s.hour = v)),
  M: digits(1, 2, (s, v) => (s.minute = v)),
  S: digits(1, 2, (s, v) => (s.second = v)),
  L: digits(1, 3, (s, _v, raw) => (s.millisecond = fractionToMs(raw))),
  j: digits(1, 3, (s, v) => (s.yearDay = v)),
  G: digits(1, 4, (s, v) => (s.isoYear = v)),
  V: digits(1, 2, (s, v) => (s.isoWeek = v)),
  u: digits(1, 1, (s, v) => (s.isoDay = v)),
  z: zoneStep,
  Z: minutesOffsetStep,
  b: monthName(false),
  B: monthName(true),
};

/** Compiles a `$dateFromString` format once; throws DateFormatError for an invalid format. */
export function compileDateParser(format: string): DateStringParser {
  const steps: Array<string | Step> = tokenizeFormat(format, Object.keys(STEPS).join("")).map((t) =>
    typeof t === "string" ? t : STEPS[t.spec],
  );
  return (text) => {
    const state: FormatState = {
      year: 1970,
      month: 1,
      day: 1,
      hour: 0,
      minute: 0,
      second: 0,
      millisecond: 0,
      seen: new Set(),
    };
    let pos = 0;
    for (const step of steps) {
      if (typeof step === "string") {
        if (!text.startsWith(step, pos)) fail(text, `expected '${step}' at position ${pos}`);
        pos += step.length;
      } else {
        pos = step(text, pos, state);
      }
    }
    if (pos !== text.length) fail(text, "Trailing data");
    const anyIso = state.isoYear !== undefined || state.isoWeek !== undefined || state.isoDay !== undefined;
    if (anyIso && (state.seen.size > 0 || state.yearDay !== undefined))
      fail(text, "Mixing of ISO dates with natural dates is not allowed");
    if (anyIso && state.isoYear === undefined) fail(text, "The parsed date was invalid");
    const iso = state.isoYear !== undefined;
    const complete =
      iso ||
      (state.seen.has("year") &&
        (state.yearDay !== undefined || (state.seen.has("month") && state.seen.has("day"))));
    if (!complete) {
      throw new DateParseError(
        `an incomplete date/time string has been found, with elements missing: "${text}"`,
      );
    }
    return { localMs: fieldsToLocalMs(text, state), zone: state.zone, zoneText: state.zoneText };
  };
}

function fieldsToLocalMs(text: string, s: FormatState): number {
  const timeMs = s.hour * MS_PER_HOUR + s.minute * MS_PER_MINUTE + s.second * MS_PER_SECOND + s.millisecond;
  if (s.isoYear !== undefined || s.isoWeek !== undefined || s.isoDay !== undefined) {
    const week = s.isoWeek ?? 1;
    const day = s.isoDay ?? 1;
    if (week < 1 || week > 53 || day < 1 || day > 7) fail(text, "The parsed date was invalid");
    toLocalMs(text, { ...s, year: 1970, month: 1, day: 1 });
    return (isoYearStartDays(s.isoYear ?? 1970) + (week - 1) * 7 + day - 1) * MS_PER_DAY + timeMs;
  }
  if (s.yearDay !== undefined) {
    const length = daysFromCivil(s.year + 1, 1, 1) - daysFromCivil(s.year, 1, 1);
    if (s.yearDay < 1 || s.yearDay > length) fail(text, "The parsed date was invalid");
    toLocalMs(text, { ...s, month: 1, day: 1 });
    return (daysFromCivil(s.year, 1, 1) + s.yearDay - 1) * MS_PER_DAY + timeMs;
  }
  return toLocalMs(text, s);
}

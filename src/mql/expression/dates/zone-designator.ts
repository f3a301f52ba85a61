import { lookupTimeZone, type TimeZone } from "./timezone.ts";

/**
 * The zone part of a date string as timelib (MongoDB's date parser) reads it: a UTC offset (`+03`, `+0330`,
 * `-03:30`, optionally after `GMT`/`UTC`), a zone abbreviation (`UTC`, `CEST`, `PDT`…) or a military letter
 * (`A`–`I`, `K`–`Z`). A tz identifier (`Europe/Paris`) is recognised only to be refused, as MongoDB does.
 */
export type ZoneDesignator =
  | { readonly kind: "offset" | "abbreviation"; readonly zone: TimeZone; readonly text: string }
  | { readonly kind: "identifier"; readonly text: string };

/** Hours east of UTC for the abbreviations timelib knows that name one fixed offset (DST variants included). */
const ABBREVIATION_HOURS: Readonly<Record<string, number>> = {
  UT: 0,
  UTC: 0,
  GMT: 0,
  WET: 0,
  WEST: 1,
  BST: 1,
  CET: 1,
  CEST: 2,
  MET: 1,
  MEST: 2,
  EET: 2,
  EEST: 3,
  MSK: 3,
  IST: 5.5,
  PKT: 5,
  HKT: 8,
  AWST: 8,
  JST: 9,
  KST: 9,
  ACST: 9.5,
  ACDT: 10.5,
  AEST: 10,
  AEDT: 11,
  NZST: 12,
  NZDT: 13,
  HST: -10,
  AKST: -9,
  AKDT: -8,
  PST: -8,
  PDT: -7,
  MST: -7,
  MDT: -6,
  CST: -6,
  CDT: -5,
  EST: -5,
  EDT: -4,
  AST: -4,
  ADT: -3,
  NST: -3.5,
  NDT: -2.5,
};

/** Military zones: A–I are +1…+9, K–M +10…+12, N–Y −1…−12, Z is UTC (J, local time, is not a zone). */
function militaryHours(letter: string): number | undefined {
  const c = letter.toUpperCase().charCodeAt(0);
  if (c >= 65 && c <= 73) return c - 64; // A-I
  if (c >= 75 && c <= 77) return c - 65; // K-M
  if (c >= 78 && c <= 89) return -(c - 77); // N-Y
  if (c === 90) return 0; // Z
  return undefined;
}

function fixedZone(hours: number): TimeZone | undefined {
  const minutes = Math.round(Math.abs(hours) * 60);
  const hh = String(Math.floor(minutes / 60)).padStart(2, "0");
  const mm = String(minutes % 60).padStart(2, "0");
  return lookupTimeZone(`${hours < 0 ? "-" : "+"}${hh}:${mm}`);
}

/** A designator at the start of `text` (after optional blanks): offset first, then a name. */
const DESIGNATOR = /^\s*(?:((?:GMT|UTC)?)([+-])(\d{1,2})(?::?(\d{2}))?(?![\d:])|([A-Za-z][A-Za-z0-9_/+-]*))/i;

/** Reads a zone designator at the start of `text`; undefined when there is none or it names no zone. */
export function readZoneDesignator(text: string): { designator: ZoneDesignator; length: number } | undefined {
  const m = DESIGNATOR.exec(text);
  if (!m) return undefined;
  const token = m[0].trimStart();
  if (m[2] !== undefined) {
    const hours = Number(m[3]);
    const minutes = Number(m[4] ?? 0);
    if (hours > 23 || minutes > 59) return undefined;
    const zone = fixedZone((m[2] === "-" ? -1 : 1) * (hours + minutes / 60));
    return zone && { designator: { kind: "offset", zone, text: token }, length: m[0].length };
  }
  const name = m[5];
  const hours =
    name.length === 1
      ? militaryHours(name)
      : Object.hasOwn(ABBREVIATION_HOURS, name.toUpperCase())
        ? ABBREVIATION_HOURS[name.toUpperCase()]
        : undefined;
  if (hours !== undefined) {
    const zone = fixedZone(hours);
    return zone && { designator: { kind: "abbreviation", zone, text: token }, length: m[0].length };
  }
  if (name.includes("/") || lookupTimeZone(name))
    return { designator: { kind: "identifier", text: token }, length: m[0].length };
  return undefined;
}

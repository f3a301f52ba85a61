import { MS_PER_HOUR, MS_PER_MINUTE, floorDiv } from "./calendar.ts";

/**
 * A time zone as MongoDB's `timezone` argument names it: an Olson identifier or a fixed UTC offset.
 * "Local milliseconds" are the wall-clock time in the zone encoded as if it were UTC.
 */
export interface TimeZone {
  readonly name: string;
  /** True for UTC and zero offsets: callers may skip offset work entirely. */
  readonly isUtc: boolean;
  /** Offset from UTC in milliseconds at an instant. */
  offsetAt(utcMs: number): number;
  /** The instant whose wall-clock time is `localMs`; a time skipped by a DST gap maps forward (pre-gap offset), a repeated one to its first occurrence. */
  fromLocal(localMs: number): number;
}

class FixedZone implements TimeZone {
  readonly name: string;
  readonly isUtc: boolean;
  private readonly offset: number;

  constructor(name: string, offset: number) {
    this.name = name;
    this.offset = offset;
    this.isUtc = offset === 0;
  }

  offsetAt(): number {
    return this.offset;
  }

  fromLocal(localMs: number): number {
    return localMs - this.offset;
  }
}

const OFFSET_CACHE_LIMIT = 4096;

/** An Olson zone backed by `Intl.DateTimeFormat`; offsets are cached per UTC hour. */
class OlsonZone implements TimeZone {
  readonly name: string;
  readonly isUtc = false;
  private readonly formatter: Intl.DateTimeFormat;
  /** Hour bucket → offset valid for the whole hour, or NaN when a transition falls inside it. */
  private readonly hourOffsets = new Map<number, number>();

  constructor(name: string, formatter: Intl.DateTimeFormat) {
    this.name = name;
    this.formatter = formatter;
  }

  offsetAt(utcMs: number): number {
    const bucket = floorDiv(utcMs, MS_PER_HOUR);
    let cached = this.hourOffsets.get(bucket);
    if (cached === undefined) {
      const start = this.computeOffset(bucket * MS_PER_HOUR);
      const end = this.computeOffset(bucket * MS_PER_HOUR + MS_PER_HOUR - 1);
      cached = start === end ? start : NaN;
      if (this.hourOffsets.size >= OFFSET_CACHE_LIMIT) this.hourOffsets.clear();
      this.hourOffsets.set(bucket, cached);
    }
    return Number.isNaN(cached) ? this.computeOffset(utcMs) : cached;
  }

  fromLocal(localMs: number): number {
    const guess = localMs - this.offsetAt(localMs);
    const before = this.offsetAt(guess - 6 * MS_PER_HOUR);
    const after = this.offsetAt(guess + 6 * MS_PER_HOUR);
    const withBefore = localMs - before;
    if (before === after) return withBefore;
    const beforeValid = this.offsetAt(withBefore) === before;
    const withAfter = localMs - after;
    const afterValid = this.offsetAt(withAfter) === after;
    if (beforeValid && afterValid) return Math.min(withBefore, withAfter);
    if (afterValid) return withAfter;
    return withBefore;
  }

  private computeOffset(utcMs: number): number {
    const parts = this.formatter.formatToParts(utcMs);
    for (const part of parts) {
      if (part.type === "timeZoneName") return parseGmtOffset(part.value);
    }
    return 0;
  }
}

/** Parses ICU's long offset name: `GMT`, `GMT+05:30`, `GMT-04:56:02`. */
function parseGmtOffset(text: string): number {
  const m = /^GMT([+-])(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (!m) return 0;
  const ms = Number(m[2]) * MS_PER_HOUR + Number(m[3]) * MS_PER_MINUTE + Number(m[4] ?? 0) * 1000;
  return m[1] === "-" ? -ms : ms;
}

export const UTC: TimeZone = new FixedZone("UTC", 0);

const zoneCache = new Map<string, TimeZone | null>();
const OFFSET_NAME = /^([+-])(\d{2})(?::?(\d{2}))?$/;

/** The zone a `timezone` argument names, or undefined when MongoDB would not recognise it. */
export function lookupTimeZone(name: string): TimeZone | undefined {
  let zone = zoneCache.get(name);
  if (zone === undefined) {
    zone = resolveTimeZone(name);
    zoneCache.set(name, zone);
  }
  return zone ?? undefined;
}

function resolveTimeZone(name: string): TimeZone | null {
  if (name === "UTC" || name === "GMT" || name === "Z") return UTC;
  const offset = OFFSET_NAME.exec(name);
  if (offset) {
    const ms = Number(offset[2]) * MS_PER_HOUR + Number(offset[3] ?? 0) * MS_PER_MINUTE;
    return new FixedZone(name, offset[1] === "-" ? -ms : ms);
  }
  // Intl also accepts offsets and odd spellings; MongoDB wants a tz database identifier.
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name)) return null;
  let formatter: Intl.DateTimeFormat;
  try {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone: name,
      timeZoneName: "longOffset",
      year: "numeric",
    });
  } catch {
    return null;
  }
  const resolved = formatter.resolvedOptions().timeZone;
  if (resolved === "UTC" || resolved === "Etc/UTC" || resolved === "Etc/GMT") return new FixedZone(name, 0);
  return new OlsonZone(name, formatter);
}

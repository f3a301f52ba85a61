import { Long, ObjectId, Timestamp } from "bson";
import { describe, expect, it } from "vitest";
import { MqlCompileError } from "../../../src/mql/errors.ts";
import type { Doc } from "../../../src/mql/types.ts";
import { run, runtimeError } from "./support.ts";

const d = (iso: string): Date => new Date(iso);
const iso = (value: unknown): string => (value as Date).toISOString();

describe("$dateToString", () => {
  const all = "%Y-%m-%d %H:%M:%S.%L %z %Z | %j %U %w | %G-W%V-%u | %b %B %%";

  it("formats every specifier in UTC", () => {
    expect(run({ $dateToString: { date: d("2021-01-03T04:05:06.007Z"), format: all } })).toBe(
      "2021-01-03 04:05:06.007 +0000 0 | 003 01 1 | 2020-W53-7 | Jan January %",
    );
    expect(run({ $dateToString: { date: d("2021-01-03T04:05:06.007Z") } })).toBe("2021-01-03T04:05:06.007Z");
  });

  it("follows America/New_York across the spring-forward and fall-back transitions", () => {
    const fmt = "%Y-%m-%d %H:%M %z";
    const ny = (at: string): unknown =>
      run({ $dateToString: { date: d(at), format: fmt, timezone: "America/New_York" } });
    expect(ny("2021-03-14T06:59:00Z")).toBe("2021-03-14 01:59 -0500");
    expect(ny("2021-03-14T07:00:00Z")).toBe("2021-03-14 03:00 -0400");
    expect(ny("2021-11-07T05:30:00Z")).toBe("2021-11-07 01:30 -0400");
    expect(ny("2021-11-07T06:30:00Z")).toBe("2021-11-07 01:30 -0500");
  });

  it("handles half-hour zones and offsets, and drops the Z from the default format outside UTC", () => {
    const at = d("2021-06-30T20:00:00Z");
    expect(run({ $dateToString: { date: at, timezone: "Asia/Kolkata" } })).toBe("2021-07-01T01:30:00.000");
    expect(run({ $dateToString: { date: at, format: "%z %Z", timezone: "Asia/Kolkata" } })).toBe("+0530 330");
    expect(run({ $dateToString: { date: at, format: "%H:%M %z", timezone: "-0330" } })).toBe("16:30 -0330");
    expect(run({ $dateToString: { date: at, format: "%H:%M %z", timezone: "+03" } })).toBe("23:00 +0300");
    // Lord Howe shifts by 30 minutes: +10:30 in winter, +11:00 in summer.
    expect(run({ $dateToString: { date: at, format: "%H:%M %z", timezone: "Australia/Lord_Howe" } })).toBe(
      "06:30 +1030",
    );
    expect(
      run({
        $dateToString: {
          date: d("2021-01-01T00:00:00Z"),
          format: "%H:%M %z",
          timezone: "Australia/Lord_Howe",
        },
      }),
    ).toBe("11:00 +1100");
  });

  it("uses the historical offset in force at the date", () => {
    const fmt = "%H:%M %z";
    expect(
      run({ $dateToString: { date: d("1970-06-01T00:00:00Z"), format: fmt, timezone: "Asia/Kathmandu" } }),
    ).toBe("05:30 +0530");
    expect(
      run({ $dateToString: { date: d("2020-06-01T00:00:00Z"), format: fmt, timezone: "Asia/Kathmandu" } }),
    ).toBe("05:45 +0545");
    expect(
      run({
        $dateToString: { date: d("1970-01-01T00:00:00Z"), format: fmt, timezone: "Australia/Lord_Howe" },
      }),
    ).toBe("10:00 +1000");
    expect(
      iso(run({ $dateFromParts: { year: 1970, month: 1, day: 1, timezone: "Australia/Lord_Howe" } })),
    ).toBe("1969-12-31T14:00:00.000Z");
  });

  it("accepts Timestamp and ObjectId inputs", () => {
    expect(run({ $dateToString: { date: new Timestamp({ t: 1600000000, i: 1 }) } })).toBe(
      "2020-09-13T12:26:40.000Z",
    );
    expect(run({ $dateToString: { date: ObjectId.createFromTime(0) } })).toBe("1970-01-01T00:00:00.000Z");
  });

  it("returns onNull for a null date, null for a null format or timezone", () => {
    expect(run({ $dateToString: { date: "$missing", onNull: "none" } })).toBe("none");
    expect(run({ $dateToString: { date: null } })).toBeNull();
    expect(run({ $dateToString: { date: d("2021-01-01"), timezone: "$tz" } })).toBeNull();
    expect(run({ $dateToString: { date: d("2021-01-01"), format: "$f", onNull: "x" } })).toBeNull();
  });

  it("rejects bad formats and zones at compile time when constant, at run time otherwise", () => {
    expect(() => run({ $dateToString: { date: "$d", format: "%Q" } })).toThrow(
      "Invalid format character '%Q' in format string",
    );
    expect(() => run({ $dateToString: { date: "$d", format: "abc%" } })).toThrow(
      "Unmatched '%' at end of format string",
    );
    expect(() => run({ $dateToString: { date: "$d", timezone: "Mars/Olympus" } })).toThrow(MqlCompileError);
    const err = runtimeError(
      { $dateToString: { date: d("2021-01-01"), timezone: "$tz" } },
      { tz: "Mars/Olympus" },
    );
    expect(err.message).toContain('unrecognized time zone identifier: "Mars/Olympus"');
    expect(runtimeError({ $dateToString: { date: "x" } }).message).toContain(
      "can't convert from BSON type string to Date",
    );
    expect(runtimeError({ $dateToString: { date: d("+010000-01-01T00:00:00Z") } }).message).toContain(
      "0-9999",
    );
  });
});

describe("date part operators", () => {
  const at = d("2021-01-01T02:30:45.678Z");

  it("read calendar fields in UTC and in a zone", () => {
    expect(run({ $year: at })).toBe(2021);
    expect(run({ $year: { date: at, timezone: "America/New_York" } })).toBe(2020);
    expect(run({ $dayOfMonth: [at] })).toBe(1);
    expect(run({ $hour: { date: at, timezone: "Asia/Kolkata" } })).toBe(8);
    expect(run({ $minute: { date: at, timezone: "Asia/Kolkata" } })).toBe(0);
    expect(run({ $second: at })).toBe(45);
    expect(run({ $millisecond: at })).toBe(678);
    expect(run({ $dayOfYear: d("2020-12-31T00:00:00Z") })).toBe(366);
    expect(run({ $dayOfWeek: at })).toBe(6); // Friday
    expect(run({ $year: null })).toBeNull();
    expect(run({ $year: { date: at, timezone: null } })).toBeNull();
  });

  it("compute ISO and Sunday-based weeks at year edges", () => {
    // 2021-01-01 is a Friday: ISO week 53 of 2020, Sunday-week 0.
    expect(run({ $isoWeek: at })).toBe(53);
    expect(run({ $isoWeekYear: at })).toBe(2020);
    expect(run({ $isoDayOfWeek: at })).toBe(5);
    expect(run({ $week: at })).toBe(0);
    // 2018-12-31 is a Monday in ISO week 1 of 2019.
    expect(run({ $isoWeekYear: d("2018-12-31T12:00:00Z") })).toBe(2019);
    expect(run({ $isoWeek: d("2018-12-31T12:00:00Z") })).toBe(1);
    expect(run({ $week: d("2023-01-01T00:00:00Z") })).toBe(1); // a Sunday starts week 1
    expect(run({ $isoWeek: d("2026-12-31T00:00:00Z") })).toBe(53);
  });

  it("accepts Timestamp and ObjectId", () => {
    expect(run({ $year: new Timestamp({ t: 1600000000, i: 1 }) })).toBe(2020);
    expect(run({ $month: ObjectId.createFromTime(1600000000) })).toBe(9);
    expect(runtimeError({ $month: "2020-01-01" }).code).toBe(16006);
  });

  it("$tsSecond and $tsIncrement return longs", () => {
    const ts = new Timestamp({ t: 1600000000, i: 42 });
    expect(run({ $tsSecond: ts })).toEqual(Long.fromNumber(1600000000));
    expect(run({ $tsIncrement: "$ts" }, { ts })).toEqual(Long.fromNumber(42));
    expect(run({ $tsSecond: null })).toBeNull();
    expect(runtimeError({ $tsSecond: at }).message).toContain("timestamp");
  });
});

describe("$dateFromString", () => {
  it("parses ISO-8601 dates, date-times, fractions and offsets", () => {
    expect(iso(run({ $dateFromString: { dateString: "2017-02-08" } }))).toBe("2017-02-08T00:00:00.000Z");
    expect(iso(run({ $dateFromString: { dateString: "2017-02-08T12:10:40.787Z" } }))).toBe(
      "2017-02-08T12:10:40.787Z",
    );
    expect(iso(run({ $dateFromString: { dateString: "2017-02-08 12:10:40+05:30" } }))).toBe(
      "2017-02-08T06:40:40.000Z",
    );
    expect(iso(run({ $dateFromString: { dateString: "2017-02-08T12:10-0300" } }))).toBe(
      "2017-02-08T15:10:00.000Z",
    );
  });

  it("resolves wall time in a zone, including DST gaps and overlaps", () => {
    const ny = (s: string): string =>
      iso(run({ $dateFromString: { dateString: s, timezone: "America/New_York" } }));
    expect(ny("2021-07-01T12:00:00")).toBe("2021-07-01T16:00:00.000Z");
    expect(ny("2021-03-14T02:30:00")).toBe("2021-03-14T07:30:00.000Z"); // skipped hour: moves forward
    expect(ny("2021-11-07T01:30:00")).toBe("2021-11-07T05:30:00.000Z"); // repeated hour: first occurrence
  });

  it("parses with a format", () => {
    expect(iso(run({ $dateFromString: { dateString: "08/02/2017 7:05", format: "%d/%m/%Y %H:%M" } }))).toBe(
      "2017-02-08T07:05:00.000Z",
    );
    expect(iso(run({ $dateFromString: { dateString: "2017-W01-1", format: "%G-W%V-%u" } }))).toBe(
      "2017-01-02T00:00:00.000Z",
    );
    expect(iso(run({ $dateFromString: { dateString: "2017 060", format: "%Y %j" } }))).toBe(
      "2017-03-01T00:00:00.000Z",
    );
    expect(iso(run({ $dateFromString: { dateString: "Feb 8 2017 +0100", format: "%b %d %Y %z" } }))).toBe(
      "2017-02-07T23:00:00.000Z",
    );
  });

  it("handles errors, onError and onNull", () => {
    expect(run({ $dateFromString: { dateString: "nope", onError: "bad" } })).toBe("bad");
    expect(run({ $dateFromString: { dateString: 5, onError: "bad" } })).toBe("bad");
    expect(run({ $dateFromString: { dateString: null, onNull: "none" } })).toBe("none");
    expect(runtimeError({ $dateFromString: { dateString: "2017-02-30" } }).message).toContain(
      "Error parsing date string '2017-02-30'",
    );
    expect(
      runtimeError({ $dateFromString: { dateString: "2017-02-08Z", timezone: "Europe/London" } }).message,
    ).toBe(
      "you cannot pass in a date/time string with time zone information ('Z') together with a timezone argument",
    );
    expect(
      run({ $dateFromString: { dateString: "2017-02-08+01:00", timezone: "Europe/London", onError: "e" } }),
    ).toBe("e");
    expect(iso(run({ $dateFromString: { dateString: "2017-02-08Z", timezone: "UTC" } }))).toBe(
      "2017-02-08T00:00:00.000Z",
    );
    expect(
      runtimeError({ $dateFromString: { dateString: "2017-02-08 America/New_York" } }).message,
    ).toContain("passing a time zone identifier as part of the string is not allowed");
    expect(runtimeError({ $dateFromString: { dateString: "10:30", format: "%H:%M" } }).message).toContain(
      "incomplete date/time string",
    );
  });
});

describe("$dateFromParts", () => {
  it("builds calendar and ISO-week dates", () => {
    expect(iso(run({ $dateFromParts: { year: 2017, month: 2, day: 8, hour: 12 } }))).toBe(
      "2017-02-08T12:00:00.000Z",
    );
    expect(iso(run({ $dateFromParts: { isoWeekYear: 2017, isoWeek: 6, isoDayOfWeek: 3 } }))).toBe(
      "2017-02-08T00:00:00.000Z",
    );
    expect(iso(run({ $dateFromParts: { year: 2017, month: 2, day: 8, timezone: "America/New_York" } }))).toBe(
      "2017-02-08T05:00:00.000Z",
    );
  });

  it("carries out-of-range values", () => {
    expect(iso(run({ $dateFromParts: { year: 2017, month: 14, day: 1 } }))).toBe("2018-02-01T00:00:00.000Z");
    expect(iso(run({ $dateFromParts: { year: 2017, month: 3, day: 0 } }))).toBe("2017-02-28T00:00:00.000Z");
    expect(iso(run({ $dateFromParts: { year: 2017, month: 0, day: 1 } }))).toBe("2016-12-01T00:00:00.000Z");
    expect(iso(run({ $dateFromParts: { year: 2017, hour: -1, minute: 30, millisecond: 1500 } }))).toBe(
      "2016-12-31T23:30:01.500Z",
    );
  });

  it("validates", () => {
    expect(run({ $dateFromParts: { year: 2017, month: null } })).toBeNull();
    expect(runtimeError({ $dateFromParts: { year: 0 } }).message).toContain("range 1 to 9999");
    expect(runtimeError({ $dateFromParts: { year: 2017, month: 1.5 } }).message).toContain(
      "'month' must evaluate to an integer",
    );
    expect(runtimeError({ $dateFromParts: { year: 2017, day: 40000 } }).message).toContain("[-32768, 32767]");
    expect(() => run({ $dateFromParts: { year: 2017, isoWeek: 1 } })).toThrow(
      "does not allow mixing natural dates with ISO dates",
    );
    expect(() => run({ $dateFromParts: { month: 1 } })).toThrow("requires either 'year' or 'isoWeekYear'");
  });
});

describe("$dateToParts", () => {
  it("splits a date, optionally in ISO form", () => {
    const at = d("2021-01-01T02:30:45.678Z");
    expect(run({ $dateToParts: { date: at } })).toEqual({
      year: 2021,
      month: 1,
      day: 1,
      hour: 2,
      minute: 30,
      second: 45,
      millisecond: 678,
    });
    expect(run({ $dateToParts: { date: at, timezone: "America/New_York", iso8601: true } })).toEqual({
      isoWeekYear: 2020,
      isoWeek: 53,
      isoDayOfWeek: 4,
      hour: 21,
      minute: 30,
      second: 45,
      millisecond: 678,
    });
    expect(runtimeError({ $dateToParts: { date: at, iso8601: 1 } }).code).toBe(40521);
  });
});

describe("$dateAdd / $dateSubtract", () => {
  const add = (start: string, unit: string, amount: number, timezone?: string): string =>
    iso(run({ $dateAdd: { startDate: d(start), unit, amount, ...(timezone ? { timezone } : {}) } }));

  it("clamps to the end of the month", () => {
    expect(add("2021-01-31T10:00:00Z", "month", 1)).toBe("2021-02-28T10:00:00.000Z");
    expect(add("2020-02-29T00:00:00Z", "year", 1)).toBe("2021-02-28T00:00:00.000Z");
    expect(add("2021-03-31T00:00:00Z", "quarter", -1)).toBe("2020-12-31T00:00:00.000Z");
    expect(
      iso(run({ $dateSubtract: { startDate: d("2021-03-31T00:00:00Z"), unit: "month", amount: 1 } })),
    ).toBe("2021-02-28T00:00:00.000Z");
  });

  it("adds calendar days in the zone but hours as elapsed time", () => {
    // 2021-03-13 12:00 EST + 1 day = 2021-03-14 12:00 EDT (23 elapsed hours).
    expect(add("2021-03-13T17:00:00Z", "day", 1, "America/New_York")).toBe("2021-03-14T16:00:00.000Z");
    expect(add("2021-03-13T17:00:00Z", "hour", 24, "America/New_York")).toBe("2021-03-14T17:00:00.000Z");
    expect(add("2021-03-13T17:00:00Z", "week", 1)).toBe("2021-03-20T17:00:00.000Z");
  });

  it("validates", () => {
    expect(run({ $dateAdd: { startDate: null, unit: "day", amount: 1 } })).toBeNull();
    expect(() => run({ $dateAdd: { startDate: "$d", unit: "fortnight", amount: 1 } })).toThrow(
      "cannot be recognized as a time unit",
    );
    expect(
      runtimeError({ $dateAdd: { startDate: d("2021-01-01"), unit: "day", amount: 1.5 } }).message,
    ).toContain("amount");
  });
});

describe("$dateDiff", () => {
  const diff = (a: string, b: string, unit: string, extra: Doc = {}): number =>
    (run({ $dateDiff: { startDate: d(a), endDate: d(b), unit, ...extra } }) as Long).toNumber();

  it("counts boundaries crossed, not elapsed periods", () => {
    expect(diff("2021-12-31T23:59:59Z", "2022-01-01T00:00:01Z", "year")).toBe(1);
    expect(diff("2021-01-31T00:00:00Z", "2021-02-01T00:00:00Z", "month")).toBe(1);
    expect(diff("2021-03-31T00:00:00Z", "2021-04-01T00:00:00Z", "quarter")).toBe(1);
    expect(diff("2021-01-01T23:00:00Z", "2021-01-02T01:00:00Z", "day")).toBe(1);
    expect(diff("2021-02-01T00:00:00Z", "2021-01-01T00:00:00Z", "month")).toBe(-1);
    expect(diff("2021-01-01T00:00:00.999Z", "2021-01-01T00:00:01.000Z", "second")).toBe(1);
  });

  it("counts weeks from startOfWeek", () => {
    // 2021-01-02 is a Saturday, 2021-01-03 a Sunday, 2021-01-04 a Monday.
    expect(diff("2021-01-02T00:00:00Z", "2021-01-03T00:00:00Z", "week")).toBe(1);
    expect(diff("2021-01-02T00:00:00Z", "2021-01-03T00:00:00Z", "week", { startOfWeek: "monday" })).toBe(0);
    expect(diff("2021-01-03T00:00:00Z", "2021-01-04T00:00:00Z", "week", { startOfWeek: "MON" })).toBe(1);
  });

  it("corrects wall-clock hour counts by the DST offset change", () => {
    const ny = { timezone: "America/New_York" };
    // 01:30 EST → 03:30 EDT is one elapsed hour; 01:30 EDT → 01:30 EST as well.
    expect(diff("2021-03-14T06:30:00Z", "2021-03-14T07:30:00Z", "hour", ny)).toBe(1);
    expect(diff("2021-11-07T05:30:00Z", "2021-11-07T06:30:00Z", "hour", ny)).toBe(1);
    expect(diff("2021-11-07T05:30:00Z", "2021-11-07T06:30:00Z", "minute", ny)).toBe(60);
    expect(diff("2021-03-14T06:59:59Z", "2021-03-14T07:00:00Z", "second", ny)).toBe(1);
  });

  it("counts days in the zone", () => {
    // 03:00Z and 05:00Z are on different local days in New York (22:00 and 00:00 after the change in winter).
    expect(
      diff("2021-01-02T03:00:00Z", "2021-01-02T05:00:00Z", "day", { timezone: "America/New_York" }),
    ).toBe(1);
    expect(diff("2021-01-02T03:00:00Z", "2021-01-02T05:00:00Z", "day")).toBe(0);
    expect(diff("2021-01-01T00:20:00Z", "2021-01-01T00:40:00Z", "hour", { timezone: "Asia/Kolkata" })).toBe(
      1,
    );
    expect(run({ $dateDiff: { startDate: null, endDate: d("2021-01-01"), unit: "day" } })).toBeNull();
  });
});

describe("$dateTrunc", () => {
  const trunc = (at: string, spec: Doc): string => iso(run({ $dateTrunc: { date: d(at), ...spec } }));

  it("truncates to calendar units in a zone", () => {
    expect(trunc("2021-03-14T12:34:56.789Z", { unit: "day", timezone: "America/New_York" })).toBe(
      "2021-03-14T05:00:00.000Z",
    );
    expect(trunc("2021-03-14T12:34:56.789Z", { unit: "month" })).toBe("2021-03-01T00:00:00.000Z");
    expect(trunc("2021-05-14T12:00:00Z", { unit: "quarter" })).toBe("2021-04-01T00:00:00.000Z");
    expect(trunc("2021-03-14T12:34:56.789Z", { unit: "hour", timezone: "Asia/Kolkata" })).toBe(
      "2021-03-14T12:30:00.000Z",
    );
  });

  it("bins hours from 2000-01-01 local, so summer bins keep the winter alignment", () => {
    // New York was UTC-5 on 2000-01-01: two-hour bins start at odd UTC hours all year.
    expect(trunc("2021-07-01T12:30:00Z", { unit: "hour", binSize: 2, timezone: "America/New_York" })).toBe(
      "2021-07-01T11:00:00.000Z",
    );
    expect(trunc("2021-01-01T12:30:00Z", { unit: "hour", binSize: 2, timezone: "America/New_York" })).toBe(
      "2021-01-01T11:00:00.000Z",
    );
  });

  it("uses startOfWeek and bins from 2000-01-01", () => {
    expect(trunc("2021-01-06T12:00:00Z", { unit: "week" })).toBe("2021-01-03T00:00:00.000Z");
    expect(trunc("2021-01-06T12:00:00Z", { unit: "week", startOfWeek: "monday" })).toBe(
      "2021-01-04T00:00:00.000Z",
    );
    expect(trunc("2021-07-01T00:00:00Z", { unit: "year", binSize: 5 })).toBe("2020-01-01T00:00:00.000Z");
    expect(trunc("2021-07-01T00:17:00Z", { unit: "minute", binSize: 15 })).toBe("2021-07-01T00:15:00.000Z");
    expect(trunc("2000-01-11T00:00:00Z", { unit: "day", binSize: 7 })).toBe("2000-01-08T00:00:00.000Z");
  });

  it("validates", () => {
    expect(run({ $dateTrunc: { date: d("2021-01-01"), unit: "week", startOfWeek: null } })).toBeNull();
    expect(
      runtimeError({ $dateTrunc: { date: d("2021-01-01"), unit: "day", binSize: 0 } }).message,
    ).toContain("binSize");
    expect(() => run({ $dateTrunc: { date: "$d", unit: "week", startOfWeek: "someday" } })).toThrow(
      "day of a week",
    );
  });
});

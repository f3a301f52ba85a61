import { describe, expect, it } from "vitest";
import { CronSyntaxError, nextFiring, parseCron } from "../../../src/connectors/scheduled/cron.ts";

const at = (iso: string): number => Date.parse(iso);
const next = (expression: string, after: string): string | undefined => {
  const t = nextFiring(parseCron(expression), at(after));
  return t === undefined ? undefined : new Date(t).toISOString();
};

describe("cron", () => {
  it("fires hourly, every five minutes and every 15 seconds, strictly after the given time", () => {
    expect(next("0 * * * *", "2026-12-06T10:59:59.500Z")).toBe("2026-12-06T11:00:00.000Z");
    expect(next("0 * * * *", "2026-12-06T11:00:00.000Z")).toBe("2026-12-06T12:00:00.000Z");
    expect(next("*/5 * * * *", "2026-12-06T10:07:00Z")).toBe("2026-12-06T10:10:00.000Z");
    expect(next("0 0/5 * * * *", "2026-12-06T10:07:00Z")).toBe("2026-12-06T10:10:00.000Z");
    expect(next("*/15 * * * * *", "2026-12-06T10:07:16Z")).toBe("2026-12-06T10:07:30.000Z");
  });

  it("rolls over days, months and years, and skips months without the day", () => {
    expect(next("30 2 * * *", "2026-12-31T03:00:00Z")).toBe("2027-01-01T02:30:00.000Z");
    expect(next("0 0 31 * *", "2026-04-01T00:00:00Z")).toBe("2026-05-31T00:00:00.000Z");
    expect(next("0 0 29 2 *", "2026-03-01T00:00:00Z")).toBe("2028-02-29T00:00:00.000Z");
    expect(next("0 9 1 JAN,jul *", "2026-02-01T00:00:00Z")).toBe("2026-07-01T09:00:00.000Z");
  });

  it("reads weekdays by number (0 and 7 are Sunday), name and range; either day field matches when both are set", () => {
    // 2026-12-06 is a Sunday.
    expect(next("0 8 * * 1-5", "2026-12-06T00:00:00Z")).toBe("2026-12-07T08:00:00.000Z");
    expect(next("0 8 * * 7", "2026-12-06T09:00:00Z")).toBe("2026-12-13T08:00:00.000Z");
    expect(next("0 8 * * SAT", "2026-12-06T00:00:00Z")).toBe("2026-12-12T08:00:00.000Z");
    expect(next("0 8 10 * MON", "2026-12-08T00:00:00Z")).toBe("2026-12-10T08:00:00.000Z");
    expect(next("0 8 ? * MON", "2026-12-08T00:00:00Z")).toBe("2026-12-14T08:00:00.000Z");
  });

  it("says which field is wrong and what it expects", () => {
    const problem = (expression: string): string => {
      try {
        parseCron(expression);
      } catch (error) {
        expect(error).toBeInstanceOf(CronSyntaxError);
        return (error as Error).message;
      }
      throw new Error(`'${expression}' parsed`);
    };
    expect(problem("0 * * *")).toMatch(/5 fields .* or 6 \(seconds first\), got 4/);
    expect(problem("61 * * * *")).toBe("cron minute field '61': expected values 0-59");
    expect(problem("0 25 * * *")).toBe("cron hour field '25': expected values 0-23");
    expect(problem("0 0 * FOO *")).toMatch(/^cron month field 'FOO': expected \*, a number 1-12 or names/);
    expect(problem("*/0 * * * *")).toBe("cron minute field '*/0': expected a step of at least 1");
    expect(problem("0 0 5-1 * *")).toBe("cron day-of-month field '5-1': expected a range from low to high");
  });

  it("reports an expression that never fires", () => {
    expect(nextFiring(parseCron("0 0 30 2 *"), at("2026-01-01T00:00:00Z"))).toBeUndefined();
  });
});

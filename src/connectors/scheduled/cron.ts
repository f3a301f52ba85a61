/**
 * Cron expressions for the scheduled `$source`, in UTC: five fields (`minute hour day-of-month month
 * day-of-week`, as App Services scheduled triggers write them) or six with seconds first (as ASP's
 * `{"$source": {"schedule": "0 0/5 * * * *"}}` does). Each field is `*`, a number, a range `a-b`, a step
 * `*\/n`, `a/n` or `a-b/n`, or a comma list of those; months and weekdays may be named (`JAN`, `MON`); `?`
 * means `*`. Day-of-week 0 and 7 are Sunday. When both day fields are restricted a day matching either fires
 * (classic cron).
 */

export interface Cron {
  readonly seconds: ReadonlySet<number>;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly days: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly weekdays: ReadonlySet<number>;
  readonly anyDay: boolean;
  readonly anyWeekday: boolean;
}

interface FieldRule {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const SECOND: FieldRule = { name: "second", min: 0, max: 59 };
const MINUTE: FieldRule = { name: "minute", min: 0, max: 59 };
const HOUR: FieldRule = { name: "hour", min: 0, max: 23 };
const DAY: FieldRule = { name: "day-of-month", min: 1, max: 31 };
const MONTH: FieldRule = {
  name: "month",
  min: 1,
  max: 12,
  names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
};
const WEEKDAY: FieldRule = {
  name: "day-of-week",
  min: 0,
  max: 7,
  names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
};

/** A cron expression that does not parse; `message` says which field and what was expected. */
export class CronSyntaxError extends Error {}

/** Parses `expression`, throwing a {@link CronSyntaxError} that names the offending field. */
export function parseCron(expression: string): Cron {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw new CronSyntaxError(
      `a cron expression has 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), got ${fields.length}`,
    );
  }
  const [second, minute, hour, day, month, weekday] = fields.length === 6 ? fields : ["0", ...fields];
  const weekdays = parseField(weekday, WEEKDAY);
  if (weekdays.has(7)) weekdays.add(0);
  weekdays.delete(7);
  return {
    seconds: parseField(second, SECOND),
    minutes: parseField(minute, MINUTE),
    hours: parseField(hour, HOUR),
    days: parseField(day, DAY),
    months: parseField(month, MONTH),
    weekdays,
    anyDay: isAny(day),
    anyWeekday: isAny(weekday),
  };
}

function isAny(field: string): boolean {
  return field === "*" || field === "?";
}

function parseField(text: string, rule: FieldRule): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const [range, stepText, extra] = part.split("/");
    if (extra !== undefined || range === "") throw syntax(rule, part);
    const step = stepText === undefined ? 1 : parseNumber(stepText, rule, part, false);
    if (step < 1) throw syntax(rule, part, "a step of at least 1");
    let from: number;
    let to: number;
    if (isAny(range)) {
      [from, to] = [rule.min, rule.name === "day-of-week" ? 6 : rule.max];
    } else if (range.includes("-")) {
      const [a, b] = range.split("-");
      [from, to] = [parseNumber(a, rule, part), parseNumber(b, rule, part)];
      if (from > to) throw syntax(rule, part, `a range from low to high`);
    } else {
      from = parseNumber(range, rule, part);
      to = stepText === undefined ? from : rule.max;
    }
    for (let value = from; value <= to; value += step) out.add(value);
  }
  return out;
}

function parseNumber(text: string, rule: FieldRule, part: string, named = true): number {
  const index = named ? (rule.names?.indexOf(text.toUpperCase()) ?? -1) : -1;
  if (index >= 0) return index + (rule.name === "month" ? 1 : 0);
  if (!/^\d+$/.test(text)) throw syntax(rule, part);
  const value = Number(text);
  if (!named) return value;
  if (value < rule.min || value > rule.max) throw syntax(rule, part, `values ${rule.min}-${rule.max}`);
  return value;
}

function syntax(rule: FieldRule, part: string, expected?: string): CronSyntaxError {
  const names = rule.names ? ` or names (${rule.names.slice(0, 3).join(", ")}, …)` : "";
  const wanted = expected ?? `*, a number ${rule.min}-${rule.max}${names}, a range a-b or a step */n`;
  return new CronSyntaxError(`cron ${rule.name} field '${part}': expected ${wanted}`);
}

/** How far ahead {@link nextFiring} looks before deciding an expression never fires (Feb 30th). */
const SEARCH_YEARS = 5;

/** The first firing strictly after `afterMs` (UTC, whole seconds), or undefined if none within 5 years. */
export function nextFiring(cron: Cron, afterMs: number): number | undefined {
  const t = new Date(Math.floor(afterMs / 1000) * 1000 + 1000);
  const limit = t.getUTCFullYear() + SEARCH_YEARS;
  while (t.getUTCFullYear() <= limit) {
    if (!cron.months.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0);
    } else if (!dayMatches(cron, t)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0);
    } else if (!cron.hours.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0);
    } else if (!cron.minutes.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0);
    } else if (!cron.seconds.has(t.getUTCSeconds())) {
      t.setUTCSeconds(t.getUTCSeconds() + 1);
    } else {
      return t.getTime();
    }
  }
  return undefined;
}

function dayMatches(cron: Cron, t: Date): boolean {
  const day = cron.days.has(t.getUTCDate());
  const weekday = cron.weekdays.has(t.getUTCDay());
  if (cron.anyDay) return weekday;
  if (cron.anyWeekday) return day;
  return day || weekday;
}

import { Long, type Timestamp } from "bson";
import { bsonTag, bsonTypeOf, isPlainObject } from "../../bson-types.ts";
import type { Doc, Evaluator, Vars } from "../../types.ts";
import { expectObjectArgs, type ExprContext, type OperatorCompiler, type OperatorTable } from "../context.ts";
import {
  compileOptional,
  compileTimeZone,
  compileTimeZoneArg,
  type DeferredArg,
  constantString,
  dateToMs,
  describeTyped,
  integralValue,
  isNullish,
} from "../dates/args.ts";
import {
  addToDate,
  dateDifference,
  parseStartOfWeek,
  TIME_UNITS,
  truncateDate,
  type TimeUnit,
} from "../dates/arithmetic.ts";
import {
  dayOfYear,
  daysFromCivil,
  floorDiv,
  isoWeekOfDays,
  isoYearStartDays,
  MS_PER_DAY,
  MS_PER_HOUR,
  MS_PER_MINUTE,
  MS_PER_SECOND,
  partsFromLocalMs,
  sundayWeekOfYear,
  weekdayOfDays,
} from "../dates/calendar.ts";
import { compileDateFormat, DateFormatError, type DateFormatter } from "../dates/format.ts";
import {
  compileDateParser,
  DateParseError,
  parseIsoDateString,
  type DateStringParser,
} from "../dates/parse.ts";
import type { TimeZone } from "../dates/timezone.ts";

function toLocal(utcMs: number, zone: TimeZone): number {
  return zone.isUtc ? utcMs : utcMs + zone.offsetAt(utcMs);
}

/** Compiles `date` plus `timezone` into `(root, vars) => localMs | null`. */
function compileLocalDate(
  dateExpr: unknown,
  zoneExpr: unknown,
  ctx: ExprContext,
  basePath: string,
): Evaluator {
  const date = ctx.compile(dateExpr, `${basePath}.date`);
  const zone = compileTimeZone(zoneExpr, ctx, `${basePath}.timezone`);
  return (root, vars) => {
    const z = zone(root, vars);
    if (z === null) return null;
    const value = date(root, vars);
    if (isNullish(value)) return null;
    return toLocal(dateToMs(value, ctx), z);
  };
}

/** `$year`-style operators: a date, `[date]` or `{date, timezone}`; `extract` reads the local time. */
function datePart(extract: (localMs: number) => number): OperatorCompiler {
  return (args, ctx) => {
    let local: Evaluator;
    if (isPlainObject(args) && "date" in args) {
      const obj = expectObjectArgs(args, ctx, ["date"], ["timezone"]);
      local = compileLocalDate(obj.date, obj.timezone, ctx, ctx.path);
    } else {
      if (Array.isArray(args) && args.length !== 1) throw ctx.error(`expects 1 argument, got ${args.length}`);
      const date = ctx.compile(
        Array.isArray(args) ? args[0] : args,
        Array.isArray(args) ? `${ctx.path}[0]` : ctx.path,
      );
      local = (root, vars) => {
        const value = date(root, vars);
        return isNullish(value) ? null : dateToMs(value, ctx);
      };
    }
    return (root, vars) => {
      const ms = local(root, vars);
      return ms === null ? null : extract(ms as number);
    };
  };
}

const days = (ms: number): number => floorDiv(ms, MS_PER_DAY);
const msOfDay = (ms: number): number => ms - days(ms) * MS_PER_DAY;

const partOperators: OperatorTable = {
  $year: datePart((ms) => partsFromLocalMs(ms).year),
  $month: datePart((ms) => partsFromLocalMs(ms).month),
  $dayOfMonth: datePart((ms) => partsFromLocalMs(ms).day),
  $hour: datePart((ms) => Math.floor(msOfDay(ms) / MS_PER_HOUR)),
  $minute: datePart((ms) => Math.floor(msOfDay(ms) / MS_PER_MINUTE) % 60),
  $second: datePart((ms) => Math.floor(msOfDay(ms) / MS_PER_SECOND) % 60),
  $millisecond: datePart((ms) => msOfDay(ms) % 1000),
  $dayOfYear: datePart((ms) => {
    const p = partsFromLocalMs(ms);
    return dayOfYear(p.year, p.month, p.day);
  }),
  $dayOfWeek: datePart((ms) => weekdayOfDays(days(ms)) + 1),
  $week: datePart((ms) => {
    const p = partsFromLocalMs(ms);
    return sundayWeekOfYear(p.year, dayOfYear(p.year, p.month, p.day), weekdayOfDays(days(ms)));
  }),
  $isoWeek: datePart((ms) => isoWeekOfDays(days(ms)).isoWeek),
  $isoWeekYear: datePart((ms) => isoWeekOfDays(days(ms)).isoWeekYear),
  $isoDayOfWeek: datePart((ms) => isoWeekOfDays(days(ms)).isoDayOfWeek),
};

/** Compiles a constant format now (errors at compile time) or per value with a small cache. */
function compileFormatArg<T>(
  expr: unknown,
  ctx: ExprContext,
  path: string,
  build: (format: string) => T,
): (root: Doc, vars: Vars) => T | null {
  const constant = constantString(expr);
  if (constant !== undefined) {
    try {
      const compiled = build(constant);
      return () => compiled;
    } catch (err) {
      if (err instanceof DateFormatError) throw ctx.error(err.message, path);
      throw err;
    }
  }
  const evaluate = ctx.compile(expr, path);
  const cache = new Map<string, T>();
  return (root, vars) => {
    const format = evaluate(root, vars);
    if (isNullish(format)) return null;
    if (typeof format !== "string") {
      throw ctx.runtimeError(
        `${ctx.operator} requires that 'format' be a string, found: ${describeTyped(format)}`,
        ctx.operator === "$dateFromString" ? 40684 : 18533,
      );
    }
    let compiled = cache.get(format);
    if (compiled === undefined) {
      try {
        compiled = build(format);
      } catch (err) {
        if (err instanceof DateFormatError) throw ctx.runtimeError(err.message, err.code);
        throw err;
      }
      if (cache.size > 64) cache.clear();
      cache.set(format, compiled);
    }
    return compiled;
  };
}

const ISO_FORMAT_UTC = compileDateFormat("%Y-%m-%dT%H:%M:%S.%LZ");
const ISO_FORMAT_LOCAL = compileDateFormat("%Y-%m-%dT%H:%M:%S.%L");

const $dateToString: OperatorCompiler = (args, ctx) => {
  const obj = expectObjectArgs(args, ctx, ["date"], ["format", "timezone", "onNull"]);
  const format =
    obj.format === undefined
      ? undefined
      : compileFormatArg(obj.format, ctx, `${ctx.path}.format`, compileDateFormat);
  const zone = compileTimeZone(obj.timezone, ctx, `${ctx.path}.timezone`);
  const date = ctx.compile(obj.date, `${ctx.path}.date`);
  const onNull = obj.onNull === undefined ? undefined : ctx.compile(obj.onNull, `${ctx.path}.onNull`);
  return (root, vars) => {
    let formatter: DateFormatter | null;
    const z = zone(root, vars);
    if (format) {
      formatter = format(root, vars);
      if (formatter === null) return null;
    } else {
      formatter = z === null || z.isUtc ? ISO_FORMAT_UTC : ISO_FORMAT_LOCAL;
    }
    if (z === null) return null;
    const value = date(root, vars);
    if (isNullish(value)) return onNull ? onNull(root, vars) : null;
    const utcMs = dateToMs(value, ctx);
    try {
      return formatter(utcMs, toLocal(utcMs, z));
    } catch (err) {
      if (err instanceof DateFormatError) throw ctx.runtimeError(err.message, err.code);
      throw err;
    }
  };
};

const $dateFromString: OperatorCompiler = (args, ctx) => {
  const obj = expectObjectArgs(args, ctx, ["dateString"], ["format", "timezone", "onError", "onNull"]);
  const parser: ((root: Doc, vars: Vars) => DateStringParser | null) | undefined =
    obj.format === undefined
      ? undefined
      : compileFormatArg(obj.format, ctx, `${ctx.path}.format`, compileDateParser);
  const zone = compileTimeZone(obj.timezone, ctx, `${ctx.path}.timezone`);
  const dateString = ctx.compile(obj.dateString, `${ctx.path}.dateString`);
  const onError = obj.onError === undefined ? undefined : ctx.compile(obj.onError, `${ctx.path}.onError`);
  const onNull = obj.onNull === undefined ? undefined : ctx.compile(obj.onNull, `${ctx.path}.onNull`);
  return (root, vars) => {
    const text = dateString(root, vars);
    const z = zone(root, vars);
    if (z === null) return null;
    let parse: DateStringParser = parseIsoDateString;
    if (parser) {
      const compiled = parser(root, vars);
      if (compiled === null) return null;
      parse = compiled;
    }
    if (isNullish(text)) return onNull ? onNull(root, vars) : null;
    try {
      if (typeof text !== "string") {
        throw new DateParseError(
          `$dateFromString requires that 'dateString' be a string, found: ${describeTyped(text)}`,
        );
      }
      const parsed = parse(text);
      if (parsed.zoneText && !z.isUtc) {
        throw new DateParseError(
          parsed.zoneText.offset
            ? "you cannot pass in a date/time string with GMT offset together with a timezone argument"
            : `you cannot pass in a date/time string with time zone information ('${parsed.zoneText.text}') together with a timezone argument`,
        );
      }
      return new Date((parsed.zone ?? z).fromLocal(parsed.localMs));
    } catch (err) {
      if (!(err instanceof DateParseError)) throw err;
      if (onError) return onError(root, vars);
      throw ctx.runtimeError(err.message, err.code);
    }
  };
};

const CALENDAR_PARTS = ["year", "month", "day", "hour", "minute", "second", "millisecond"] as const;
const ISO_PARTS = [
  "isoWeekYear",
  "isoWeek",
  "isoDayOfWeek",
  "hour",
  "minute",
  "second",
  "millisecond",
] as const;
const PART_DEFAULTS: Readonly<Record<string, number>> = { month: 1, day: 1, isoWeek: 1, isoDayOfWeek: 1 };

const $dateFromParts: OperatorCompiler = (args, ctx) => {
  if (!isPlainObject(args))
    throw ctx.error("expects an object with 'year' or 'isoWeekYear' and optional date parts");
  const allowed = new Set<string>([...CALENDAR_PARTS, ...ISO_PARTS, "timezone"]);
  for (const key of Object.keys(args)) {
    if (!allowed.has(key)) throw ctx.error(`Unrecognized argument to $dateFromParts: ${key}`);
  }
  const calendar = CALENDAR_PARTS.slice(0, 3).some((k) => k in args);
  const iso = ISO_PARTS.slice(0, 3).some((k) => k in args);
  if (calendar && iso) throw ctx.error("$dateFromParts does not allow mixing natural dates with ISO dates");
  const names = iso ? ISO_PARTS : CALENDAR_PARTS;
  if (!(names[0] in args))
    throw ctx.error("$dateFromParts requires either 'year' or 'isoWeekYear' to be present");
  const parts = names.map((name) =>
    compileOptional(args[name], ctx, `${ctx.path}.${name}`, PART_DEFAULTS[name] ?? 0),
  );
  const zone = compileTimeZone(args.timezone, ctx, `${ctx.path}.timezone`);
  return (root, vars) => {
    const values = new Array<number>(7);
    for (let i = 0; i < 7; i++) {
      const raw = parts[i](root, vars);
      if (isNullish(raw)) return null;
      const n = integralValue(raw);
      const name = names[i];
      if (n === undefined) {
        throw ctx.runtimeError(`'${name}' must evaluate to an integer, found ${describeTyped(raw)}`, 40515);
      }
      if (i === 0 && (n < 1 || n > 9999)) {
        throw ctx.runtimeError(
          `'${name}' must evaluate to an integer in the range 1 to 9999, found ${n}`,
          40523,
        );
      }
      if (i > 0 && (n < -32768 || n > 32767)) {
        throw ctx.runtimeError(
          `'${name}' must evaluate to a value in the range [-32768, 32767]; value ${n} is not in range`,
          31034,
        );
      }
      values[i] = n;
    }
    const z = zone(root, vars);
    if (z === null) return null;
    const [a, b, c, hour, minute, second, millisecond] = values;
    let dayNumber: number;
    if (iso) {
      dayNumber = isoYearStartDays(a) + (b - 1) * 7 + (c - 1);
    } else {
      // Out-of-range parts carry: month 14 is February of the next year, day 0 the last day of the previous month.
      const monthIndex = a * 12 + (b - 1);
      dayNumber =
        daysFromCivil(floorDiv(monthIndex, 12), monthIndex - floorDiv(monthIndex, 12) * 12 + 1, 1) + c - 1;
    }
    const local =
      dayNumber * MS_PER_DAY +
      hour * MS_PER_HOUR +
      minute * MS_PER_MINUTE +
      second * MS_PER_SECOND +
      millisecond;
    return new Date(z.isUtc ? local : z.fromLocal(local));
  };
};

const $dateToParts: OperatorCompiler = (args, ctx) => {
  const obj = expectObjectArgs(args, ctx, ["date"], ["timezone", "iso8601"]);
  const local = compileLocalDate(obj.date, obj.timezone, ctx, ctx.path);
  const iso8601 = compileOptional(obj.iso8601, ctx, `${ctx.path}.iso8601`, false);
  return (root, vars) => {
    const flag = iso8601(root, vars);
    if (isNullish(flag)) return null;
    if (typeof flag !== "boolean") {
      throw ctx.runtimeError(
        `$dateToParts requires 'iso8601' to be a boolean, found ${describeTyped(flag)}`,
        40521,
      );
    }
    const ms = local(root, vars);
    if (ms === null) return null;
    const p = partsFromLocalMs(ms as number);
    if (!flag) return p;
    const w = isoWeekOfDays(days(ms as number));
    return {
      isoWeekYear: w.isoWeekYear,
      isoWeek: w.isoWeek,
      isoDayOfWeek: w.isoDayOfWeek,
      hour: p.hour,
      minute: p.minute,
      second: p.second,
      millisecond: p.millisecond,
    };
  };
};

/** Compiles a `unit` argument; a constant is validated now. */
function compileUnit(expr: unknown, ctx: ExprContext, path: string): DeferredArg<TimeUnit> {
  const describe = (value: unknown): string =>
    `${ctx.operator} parameter 'unit' value cannot be recognized as a time unit: ${typeof value === "string" ? value : describeTyped(value)}`;
  const constant = constantString(expr);
  if (constant !== undefined) {
    if (!TIME_UNITS.has(constant)) throw ctx.error(describe(constant), path);
    const unit = constant as TimeUnit;
    return { raw: () => unit, check: () => unit };
  }
  return {
    raw: ctx.compile(expr, path),
    check: (value) => {
      if (typeof value !== "string" || !TIME_UNITS.has(value))
        throw ctx.runtimeError(describe(value), 5439014);
      return value as TimeUnit;
    },
  };
}

/** Compiles `startOfWeek` (default Sunday) into a weekday index 0-6. */
function compileStartOfWeek(expr: unknown, ctx: ExprContext, path: string): DeferredArg<number> {
  const describe = (value: unknown): string =>
    `${ctx.operator} parameter 'startOfWeek' value cannot be recognized as a day of a week: ${typeof value === "string" ? value : describeTyped(value)}`;
  if (expr === undefined) return { raw: () => "sunday", check: () => 0 };
  const constant = constantString(expr);
  if (constant !== undefined) {
    const day = parseStartOfWeek(constant);
    if (day < 0) throw ctx.error(describe(constant), path);
    return { raw: () => constant, check: () => day };
  }
  return {
    raw: ctx.compile(expr, path),
    check: (value) => {
      const day = typeof value === "string" ? parseStartOfWeek(value) : -1;
      if (day < 0) throw ctx.runtimeError(describe(value), 5439016);
      return day;
    },
  };
}

/** A non-null date argument as epoch milliseconds; MongoDB's error for other types. */
function checkDateArg(value: unknown, ctx: ExprContext, name: string): number {
  const tag = typeof value === "object" && value !== null ? bsonTag(value) : undefined;
  if (!(value instanceof Date) && tag !== "Timestamp" && tag !== "ObjectId") {
    throw ctx.runtimeError(
      `${ctx.operator} requires '${name}' to be a date, but got ${bsonTypeOf(value)}`,
      5166307,
    );
  }
  return dateToMs(value, ctx);
}

/** True when any value is null or missing: these operators then return null before checking any argument. */
function anyNullish(...values: readonly unknown[]): boolean {
  for (const value of values) if (value === null || value === undefined) return true;
  return false;
}

/** The weekday a week starts on (only read for unit "week"); null when `startOfWeek` is null or missing. */
function weekStart(startOfWeek: DeferredArg<number>, root: Doc, vars: Vars): number | null {
  const raw = startOfWeek.raw(root, vars);
  return anyNullish(raw) ? null : startOfWeek.check(raw);
}

function checkedDate(ms: number, ctx: ExprContext): Date {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) throw ctx.runtimeError(`${ctx.operator} overflowed`, 5166406);
  return date;
}

function dateArithmetic(sign: 1 | -1): OperatorCompiler {
  return (args, ctx) => {
    const obj = expectObjectArgs(args, ctx, ["startDate", "unit", "amount"], ["timezone"]);
    const start = ctx.compile(obj.startDate, `${ctx.path}.startDate`);
    const unit = compileUnit(obj.unit, ctx, `${ctx.path}.unit`);
    const amount = ctx.compile(obj.amount, `${ctx.path}.amount`);
    const zone = compileTimeZoneArg(obj.timezone, ctx, `${ctx.path}.timezone`);
    return (root, vars) => {
      const rawStart = start(root, vars);
      const rawUnit = unit.raw(root, vars);
      const rawAmount = amount(root, vars);
      const rawZone = zone.raw(root, vars);
      if (anyNullish(rawStart, rawUnit, rawAmount, rawZone)) return null;
      const startMs = checkDateArg(rawStart, ctx, "startDate");
      const u = unit.check(rawUnit);
      const n = integralValue(rawAmount);
      if (n === undefined) {
        throw ctx.runtimeError(
          `invalid ${ctx.operator} 'amount' parameter value: ${describeTyped(rawAmount)}`,
          5166405,
        );
      }
      return checkedDate(addToDate(startMs, u, sign * n, zone.check(rawZone)), ctx);
    };
  };
}

const $dateDiff: OperatorCompiler = (args, ctx) => {
  const obj = expectObjectArgs(args, ctx, ["startDate", "endDate", "unit"], ["timezone", "startOfWeek"]);
  const start = ctx.compile(obj.startDate, `${ctx.path}.startDate`);
  const end = ctx.compile(obj.endDate, `${ctx.path}.endDate`);
  const unit = compileUnit(obj.unit, ctx, `${ctx.path}.unit`);
  const zone = compileTimeZoneArg(obj.timezone, ctx, `${ctx.path}.timezone`);
  const startOfWeek = compileStartOfWeek(obj.startOfWeek, ctx, `${ctx.path}.startOfWeek`);
  return (root, vars) => {
    const rawStart = start(root, vars);
    const rawEnd = end(root, vars);
    const rawUnit = unit.raw(root, vars);
    const rawZone = zone.raw(root, vars);
    if (anyNullish(rawStart, rawEnd, rawUnit, rawZone)) return null;
    const startMs = checkDateArg(rawStart, ctx, "startDate");
    const endMs = checkDateArg(rawEnd, ctx, "endDate");
    const u = unit.check(rawUnit);
    const z = zone.check(rawZone);
    const sow = u === "week" ? weekStart(startOfWeek, root, vars) : 0;
    if (sow === null) return null;
    return Long.fromNumber(dateDifference(startMs, endMs, u, z, sow));
  };
};

const $dateTrunc: OperatorCompiler = (args, ctx) => {
  const obj = expectObjectArgs(args, ctx, ["date", "unit"], ["binSize", "timezone", "startOfWeek"]);
  const date = ctx.compile(obj.date, `${ctx.path}.date`);
  const unit = compileUnit(obj.unit, ctx, `${ctx.path}.unit`);
  const binSize = compileOptional(obj.binSize, ctx, `${ctx.path}.binSize`, 1);
  const zone = compileTimeZoneArg(obj.timezone, ctx, `${ctx.path}.timezone`);
  const startOfWeek = compileStartOfWeek(obj.startOfWeek, ctx, `${ctx.path}.startOfWeek`);
  return (root, vars) => {
    const rawDate = date(root, vars);
    const rawUnit = unit.raw(root, vars);
    const rawSize = binSize(root, vars);
    const rawZone = zone.raw(root, vars);
    if (anyNullish(rawDate, rawUnit, rawSize, rawZone)) return null;
    const ms = checkDateArg(rawDate, ctx, "date");
    const u = unit.check(rawUnit);
    const size = integralValue(rawSize);
    if (size === undefined || size <= 0) {
      throw ctx.runtimeError(
        `$dateTrunc requires 'binSize' to be a positive 64-bit integer, but got value: ${describeTyped(rawSize)}`,
        5439017,
      );
    }
    const z = zone.check(rawZone);
    const sow = u === "week" ? weekStart(startOfWeek, root, vars) : 0;
    if (sow === null) return null;
    return checkedDate(truncateDate(ms, u, size, z, sow), ctx);
  };
};

function timestampPart(read: (ts: Timestamp) => number): OperatorCompiler {
  return (args, ctx) => {
    if (Array.isArray(args) && args.length !== 1) throw ctx.error(`expects 1 argument, got ${args.length}`);
    const evaluate = ctx.compile(Array.isArray(args) ? args[0] : args, ctx.path);
    return (root, vars) => {
      const value = evaluate(root, vars);
      if (isNullish(value)) return null;
      if (typeof value !== "object" || bsonTag(value) !== "Timestamp") {
        throw ctx.runtimeError(
          `${ctx.operator} expects argument of type timestamp but received ${bsonTypeOf(value)}`,
          5687301,
        );
      }
      return Long.fromNumber(read(value as Timestamp));
    };
  };
}

export const dateOperators: OperatorTable = {
  ...partOperators,
  $dateToString,
  $dateFromString,
  $dateFromParts,
  $dateToParts,
  $dateTrunc,
  $dateAdd: dateArithmetic(1),
  $dateSubtract: dateArithmetic(-1),
  $dateDiff,
  $tsSecond: timestampPart((ts) => ts.t),
  $tsIncrement: timestampPart((ts) => ts.i),
};

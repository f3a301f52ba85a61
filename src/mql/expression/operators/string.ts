import { bsonTag, bsonTypeOf, isNumber, isPlainObject, toJsNumber } from "../../bson-types.ts";
import type { Doc, Evaluator, Vars } from "../../types.ts";
import {
  compileArgs,
  expectObjectArgs,
  type ExprContext,
  type OperatorCompiler,
  type OperatorTable,
} from "../context.ts";
import { dateToMs, describeTyped, isNullish } from "../dates/args.ts";
import { compileDateFormat } from "../dates/format.ts";
import { buildRegex, RegexArgumentError, regexSource } from "../strings/regex.ts";
import {
  codePointLength,
  codePointsBefore,
  isContinuationByte,
  utf16IndexOfCodePoint,
  utf8Length,
} from "../strings/utf8.ts";

const ISO_UTC = compileDateFormat("%Y-%m-%dT%H:%M:%S.%LZ");

/** MongoDB's `coerceToString` for operators that accept non-strings: null/missing ⇒ "". */
function coerceToString(value: unknown, ctx: ExprContext): string {
  if (typeof value === "string") return value;
  if (isNullish(value)) return "";
  if (isNumber(value)) {
    return typeof value === "number" ? String(value) : String((value as { toString(): string }).toString());
  }
  if (value instanceof Date) return ISO_UTC(value.getTime(), value.getTime());
  if (typeof value === "object" && bsonTag(value) === "Timestamp")
    return ISO_UTC(dateToMs(value, ctx), dateToMs(value, ctx));
  if (typeof value === "object" && bsonTag(value) === "BSONSymbol") return String(value);
  throw ctx.runtimeError(`can't convert from BSON type ${bsonTypeOf(value)} to String`, 16007);
}

const $concat: OperatorCompiler = (args, ctx) => {
  const parts = compileArgs(args, ctx, 0, Infinity);
  return (root, vars) => {
    let out = "";
    for (const part of parts) {
      const value = part(root, vars);
      if (isNullish(value)) return null;
      if (typeof value !== "string") {
        throw ctx.runtimeError(`$concat only supports strings, not ${bsonTypeOf(value)}`, 16702);
      }
      out += value;
    }
    return out;
  };
};

function caseMapper(upper: boolean): OperatorCompiler {
  // MongoDB maps ASCII letters only; other characters pass through unchanged.
  const pattern = upper ? /[a-z]+/g : /[A-Z]+/g;
  const map = upper ? (s: string): string => s.toUpperCase() : (s: string): string => s.toLowerCase();
  return (args, ctx) => {
    const [input] = compileArgs(args, ctx, 1);
    return (root, vars) => coerceToString(input(root, vars), ctx).replace(pattern, map);
  };
}

function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

const $strcasecmp: OperatorCompiler = (args, ctx) => {
  const [a, b] = compileArgs(args, ctx, 2);
  return (root, vars) => {
    const left = asciiLower(coerceToString(a(root, vars), ctx));
    const right = asciiLower(coerceToString(b(root, vars), ctx));
    const cmp = Buffer.compare(Buffer.from(left), Buffer.from(right));
    return cmp < 0 ? -1 : cmp > 0 ? 1 : 0;
  };
};

function requireNumber(value: unknown, ctx: ExprContext, what: string, code: number): number {
  if (!isNumber(value)) {
    throw ctx.runtimeError(
      `${ctx.operator}: ${what} must be a numeric type (is BSON type ${bsonTypeOf(value)})`,
      code,
    );
  }
  return toJsNumber(value);
}

const $substrBytes: OperatorCompiler = (args, ctx) => {
  const [input, start, length] = compileArgs(args, ctx, 3);
  return (root, vars) => {
    const text = coerceToString(input(root, vars), ctx);
    const rawStart = requireNumber(start(root, vars), ctx, "starting index", 16034);
    const rawLength = requireNumber(length(root, vars), ctx, "length", 16035);
    const bytes = Buffer.from(text, "utf8");
    // Negative or NaN start/length behave like MongoDB's size_t conversion: start past the end, length to the end.
    const from = rawStart < 0 || Number.isNaN(rawStart) ? bytes.length : Math.trunc(rawStart);
    if (from >= bytes.length) return "";
    const count = rawLength < 0 || Number.isNaN(rawLength) ? Infinity : Math.trunc(rawLength);
    const to = Math.min(bytes.length, from + count);
    if (isContinuationByte(bytes[from])) {
      throw ctx.runtimeError(
        `${ctx.operator}:  Invalid range, starting index is a UTF-8 continuation byte.`,
        28656,
      );
    }
    if (to < bytes.length && isContinuationByte(bytes[to])) {
      throw ctx.runtimeError(
        `${ctx.operator}:  Invalid range, ending index is in the middle of a UTF-8 character.`,
        28657,
      );
    }
    return bytes.toString("utf8", from, to);
  };
};

function requireInt32(
  value: unknown,
  ctx: ExprContext,
  what: string,
  codes: readonly [number, number, number],
): number {
  if (!isNumber(value)) {
    throw ctx.runtimeError(
      `${ctx.operator}: ${what} must be a numeric type (is BSON type ${bsonTypeOf(value)})`,
      codes[0],
    );
  }
  const n = toJsNumber(value);
  if (!Number.isInteger(n) || n < -2147483648 || n > 2147483647) {
    throw ctx.runtimeError(
      `${ctx.operator}: ${what} cannot be represented as a 32-bit integral value`,
      codes[1],
    );
  }
  if (n < 0) {
    const noun =
      what === "length"
        ? "length must be a nonnegative integer."
        : "the starting index must be nonnegative integer.";
    throw ctx.runtimeError(`${ctx.operator}: ${noun}`, codes[2]);
  }
  return n;
}

const $substrCP: OperatorCompiler = (args, ctx) => {
  const [input, start, length] = compileArgs(args, ctx, 3);
  return (root, vars) => {
    const text = coerceToString(input(root, vars), ctx);
    const from = requireInt32(start(root, vars), ctx, "starting index", [34450, 34451, 34455]);
    const count = requireInt32(length(root, vars), ctx, "length", [34452, 34453, 34454]);
    const begin = utf16IndexOfCodePoint(text, from);
    return text.slice(begin, utf16IndexOfCodePoint(text, count, begin, 0));
  };
};

function stringLength(measure: (text: string) => number): OperatorCompiler {
  return (args, ctx) => {
    const [input] = compileArgs(args, ctx, 1);
    return (root, vars) => {
      const value = input(root, vars);
      if (typeof value !== "string") {
        throw ctx.runtimeError(
          `${ctx.operator} requires a string argument, found: ${bsonTypeOf(value)}`,
          ctx.operator === "$strLenCP" ? 34471 : 34473,
        );
      }
      return measure(value);
    };
  };
}

const $split: OperatorCompiler = (args, ctx) => {
  const [input, delimiter] = compileArgs(args, ctx, 2);
  return (root, vars) => {
    const text = input(root, vars);
    const sep = delimiter(root, vars);
    if (isNullish(text) || isNullish(sep)) return null;
    if (typeof text !== "string") {
      throw ctx.runtimeError(
        `$split requires an expression that evaluates to a string as a first argument, found: ${bsonTypeOf(text)}`,
        40085,
      );
    }
    if (typeof sep !== "string") {
      throw ctx.runtimeError(
        `$split requires an expression that evaluates to a string as a second argument, found: ${bsonTypeOf(sep)}`,
        40086,
      );
    }
    if (sep === "") throw ctx.runtimeError("$split requires a non-empty separator", 40087);
    return text.split(sep);
  };
};

/** The whitespace `$trim` removes by default (MongoDB docs, $trim). */
const DEFAULT_TRIM_CHARS = new Set<number>([
  0x0000, 0x0020, 0x0009, 0x000a, 0x000b, 0x000c, 0x000d, 0x00a0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
  0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
]);

function trimmer(left: boolean, right: boolean): OperatorCompiler {
  return (args, ctx) => {
    const obj = expectObjectArgs(args, ctx, ["input"], ["chars"]);
    const input = ctx.compile(obj.input, `${ctx.path}.input`);
    const chars = obj.chars === undefined ? undefined : ctx.compile(obj.chars, `${ctx.path}.chars`);
    return (root, vars) => {
      const text = input(root, vars);
      if (isNullish(text)) return null;
      if (typeof text !== "string") {
        throw ctx.runtimeError(
          `${ctx.operator} requires its input to be a string, got ${describeTyped(text)} instead.`,
          50699,
        );
      }
      let set = DEFAULT_TRIM_CHARS;
      if (chars) {
        const value = chars(root, vars);
        if (isNullish(value)) return null;
        if (typeof value !== "string") {
          throw ctx.runtimeError(
            `${ctx.operator} requires 'chars' to be a string, got ${describeTyped(value)} instead.`,
            50700,
          );
        }
        set = new Set(Array.from(value, (ch) => ch.codePointAt(0) as number));
      }
      const cps = Array.from(text);
      let begin = 0;
      let end = cps.length;
      if (left) while (begin < end && set.has(cps[begin].codePointAt(0) as number)) begin++;
      if (right) while (end > begin && set.has(cps[end - 1].codePointAt(0) as number)) end--;
      return begin === 0 && end === cps.length ? text : cps.slice(begin, end).join("");
    };
  };
}

function replacer(all: boolean): OperatorCompiler {
  return (args, ctx) => {
    const obj = expectObjectArgs(args, ctx, ["input", "find", "replacement"]);
    const parts = (["input", "find", "replacement"] as const).map((key) =>
      ctx.compile(obj[key], `${ctx.path}.${key}`),
    );
    return (root, vars) => {
      const values = parts.map((p) => p(root, vars));
      for (let i = 0; i < 3; i++) {
        const v = values[i];
        if (!isNullish(v) && typeof v !== "string") {
          const key = ["input", "find", "replacement"][i];
          throw ctx.runtimeError(
            `${ctx.operator} requires that '${key}' be a string, found: ${describeTyped(v)}`,
            51746,
          );
        }
      }
      if (values.some(isNullish)) return null;
      const [text, find, replacement] = values as string[];
      if (!all) {
        const at = text.indexOf(find);
        return at < 0 ? text : text.slice(0, at) + replacement + text.slice(at + find.length);
      }
      // An empty `find` matches between every code point (and at both ends).
      if (find === "")
        return replacement + Array.from(text).join(replacement) + (text === "" ? "" : replacement);
      return text.split(find).join(replacement);
    };
  };
}

function indexOf(unit: "bytes" | "cp"): OperatorCompiler {
  return (args, ctx) => {
    const [input, token, start, end] = compileArgs(args, ctx, 2, 4);
    const readIndex = (
      evaluate: Evaluator | undefined,
      root: Doc,
      vars: Vars,
      which: string,
    ): number | undefined => {
      if (!evaluate) return undefined;
      const value = evaluate(root, vars);
      const n = isNumber(value) ? toJsNumber(value) : NaN;
      if (!Number.isInteger(n)) {
        throw ctx.runtimeError(
          `${ctx.operator} requires an integral ${which} index, found a value of type: ${bsonTypeOf(value)}, with value: ${String(value)}`,
          40096,
        );
      }
      if (n < 0)
        throw ctx.runtimeError(`${ctx.operator} requires a nonnegative ${which} index, found: ${n}`, 40097);
      return n;
    };
    return (root, vars) => {
      const text = input(root, vars);
      if (isNullish(text)) return null;
      if (typeof text !== "string") {
        throw ctx.runtimeError(
          `${ctx.operator} requires a string as the first argument, found: ${bsonTypeOf(text)}`,
          unit === "bytes" ? 40091 : 40093,
        );
      }
      const sub = token(root, vars);
      if (typeof sub !== "string") {
        throw ctx.runtimeError(
          `${ctx.operator} requires a string as the second argument, found: ${bsonTypeOf(sub)}`,
          unit === "bytes" ? 40092 : 40094,
        );
      }
      const from = readIndex(start, root, vars, "starting") ?? 0;
      if (unit === "bytes") {
        const bytes = Buffer.from(text, "utf8");
        const to = Math.min(readIndex(end, root, vars, "ending") ?? bytes.length, bytes.length);
        if (from > to) return -1;
        const at = bytes.subarray(0, to).indexOf(Buffer.from(sub, "utf8"), from);
        return at < 0 || (sub === "" && from > to) ? -1 : at;
      }
      const cps = codePointLength(text);
      const to = Math.min(readIndex(end, root, vars, "ending") ?? cps, cps);
      if (from > to) return -1;
      const begin = utf16IndexOfCodePoint(text, from);
      const limit = utf16IndexOfCodePoint(text, to, begin, from);
      const at = text.slice(0, limit).indexOf(sub, begin);
      return at < 0 ? -1 : from + codePointsBefore(text.slice(begin), at - begin);
    };
  };
}

type RegexMode = "match" | "find" | "findAll";

/** What each mode yields for a null/missing input or regex (`$regexFindAll` gets a fresh array). */
const REGEX_NULL_RESULT: Readonly<Record<RegexMode, unknown>> = { match: false, find: null, findAll: null };

function regexOperator(mode: RegexMode): OperatorCompiler {
  return (args, ctx) => {
    // MongoDB treats a missing `input` or `regex` as null.
    const obj = expectObjectArgs(args, ctx, [], ["input", "regex", "options"]);
    const input = ctx.compile(obj.input, `${ctx.path}.input`);
    const regexArg = ctx.compile(obj.regex, `${ctx.path}.regex`);
    const optionsArg =
      obj.options === undefined ? undefined : ctx.compile(obj.options, `${ctx.path}.options`);
    const resolve = (root: Doc, vars: Vars): RegExp | null => {
      const raw = regexArg(root, vars);
      const options = optionsArg ? optionsArg(root, vars) : undefined;
      if (!isNullish(options) && typeof options !== "string") {
        throw new RegexArgumentError(`${ctx.operator} needs 'options' to be of type string`, 51106);
      }
      if (typeof options === "string" && options.includes("\0")) {
        throw new RegexArgumentError(
          `${ctx.operator}: regular expression options cannot contain an embedded null byte`,
          51110,
        );
      }
      if (isNullish(raw)) {
        if (typeof options === "string") buildRegex(ctx.operator, "", options);
        return null;
      }
      const source = regexSource(raw);
      if (!source)
        throw new RegexArgumentError(`${ctx.operator} needs 'regex' to be of type string or regex`, 51105);
      // Even an empty 'options' string conflicts with a regex that carries options.
      if (source.options !== "" && typeof options === "string") {
        throw new RegexArgumentError(
          `${ctx.operator} found regex option(s) specified in both 'regex' and 'option' fields`,
          51107,
        );
      }
      return buildRegex(ctx.operator, source.pattern, source.options || (options ?? ""));
    };
    let constantRegex: RegExp | null | undefined;
    const isConstant = (e: unknown): boolean =>
      e === undefined ||
      (!(typeof e === "string" && e.startsWith("$")) && !isPlainObject(e) && !Array.isArray(e));
    if (isConstant(obj.regex) && isConstant(obj.options)) {
      try {
        constantRegex = resolve({}, {});
      } catch (err) {
        if (err instanceof RegexArgumentError) throw ctx.error(err.message);
        throw err;
      }
    }
    return (root, vars) => {
      let regex: RegExp | null;
      try {
        regex = constantRegex === undefined ? resolve(root, vars) : constantRegex;
      } catch (err) {
        if (err instanceof RegexArgumentError) throw ctx.runtimeError(err.message, err.code);
        throw err;
      }
      const text = input(root, vars);
      if (isNullish(text)) return mode === "findAll" ? [] : REGEX_NULL_RESULT[mode];
      if (typeof text !== "string")
        throw ctx.runtimeError(`${ctx.operator} needs 'input' to be of type string`, 51104);
      if (regex === null) return mode === "findAll" ? [] : REGEX_NULL_RESULT[mode];
      regex.lastIndex = 0;
      if (mode === "match") return regex.test(text);
      if (mode === "find") {
        const m = regex.exec(text);
        return m ? matchResult(text, m, 0, 0) : null;
      }
      const out: unknown[] = [];
      let cpBase = 0;
      let utfBase = 0;
      for (let m = regex.exec(text); m; m = regex.exec(text)) {
        const result = matchResult(text, m, utfBase, cpBase);
        cpBase = result.idx;
        utfBase = m.index;
        out.push(result);
        // An empty match must not repeat: step over one code point. MongoDB stops once the next search
        // would start at the end of the input, so an empty match there is not reported.
        if (m[0] === "") regex.lastIndex = utf16IndexOfCodePoint(text, 1, m.index, 0);
        if (regex.lastIndex >= text.length) break;
      }
      return out;
    };
  };
}

function matchResult(
  text: string,
  m: RegExpExecArray,
  utfBase: number,
  cpBase: number,
): { match: string; idx: number; captures: unknown[] } {
  const captures = new Array<unknown>(m.length - 1);
  for (let i = 1; i < m.length; i++) captures[i - 1] = m[i] ?? null;
  return { match: m[0], idx: cpBase + codePointsBefore(text.slice(utfBase), m.index - utfBase), captures };
}

export const stringOperators: OperatorTable = {
  $concat,
  $substrBytes,
  $substr: $substrBytes,
  $substrCP,
  $toUpper: caseMapper(true),
  $toLower: caseMapper(false),
  $strcasecmp,
  $split,
  $trim: trimmer(true, true),
  $ltrim: trimmer(true, false),
  $rtrim: trimmer(false, true),
  $replaceOne: replacer(false),
  $replaceAll: replacer(true),
  $strLenCP: stringLength(codePointLength),
  $strLenBytes: stringLength(utf8Length),
  $indexOfCP: indexOf("cp"),
  $indexOfBytes: indexOf("bytes"),
  $regexMatch: regexOperator("match"),
  $regexFind: regexOperator("find"),
  $regexFindAll: regexOperator("findAll"),
};

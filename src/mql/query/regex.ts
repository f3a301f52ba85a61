import { bsonTag } from "../bson-types.ts";
import { MqlCompileError } from "../errors.ts";
import type { ValueTest } from "./path.ts";

const VALID_OPTIONS = new Set(["i", "m", "s", "x"]);

/** A regex in MongoDB's terms: a PCRE pattern and its option letters. */
export interface RegexSpec {
  readonly pattern: string;
  readonly options: string;
}

/** The pattern and options of a RegExp or bson BSONRegExp, or undefined for any other value. */
export function regexSpecOf(value: unknown): RegexSpec | undefined {
  if (value instanceof RegExp) return { pattern: value.source, options: mongoOptions(value.flags) };
  if (typeof value === "object" && value !== null && bsonTag(value) === "BSONRegExp") {
    const r = value as { pattern: string; options: string };
    return { pattern: r.pattern, options: r.options };
  }
  return undefined;
}

/** The MongoDB options a JS RegExp's flags stand for (g, y, u, d have no MongoDB meaning). */
function mongoOptions(flags: string): string {
  let out = "";
  for (const f of flags) if (VALID_OPTIONS.has(f)) out += f;
  return out;
}

/**
 * Compiles a MongoDB regex (options i, m, s, x) once into a test that matches strings against it and
 * regex values with exactly the same pattern and options, as `RegexMatchExpression` does.
 */
export function compileRegexTest(spec: RegexSpec, path: string): ValueTest {
  const re = toJsRegExp(spec, path);
  const { pattern, options } = spec;
  return (value) => {
    if (typeof value === "string") return re.test(value);
    if (typeof value !== "object" || value === null) return false;
    const other = regexSpecOf(value);
    return other !== undefined && other.pattern === pattern && other.options === options;
  };
}

export function toJsRegExp(spec: RegexSpec, path: string): RegExp {
  let flags = "";
  let extended = false;
  for (const option of spec.options) {
    if (!VALID_OPTIONS.has(option))
      throw new MqlCompileError(path, `invalid flag in regex options: ${option}`);
    if (option === "x") extended = true;
    else if (!flags.includes(option)) flags += option;
  }
  if (spec.pattern.includes("\0"))
    throw new MqlCompileError(path, "Regular expression cannot contain an embedded null byte");
  const source = extended ? stripExtended(spec.pattern) : spec.pattern;
  // Unicode mode is closest to PCRE's UTF-8 mode ("." and case folding work on code points); patterns
  // that are only valid without it (PCRE accepts escapes like "\_" that unicode mode rejects) fall back.
  try {
    return new RegExp(source, flags + "u");
  } catch {
    try {
      return new RegExp(source, flags);
    } catch (error) {
      throw new MqlCompileError(path, `Regular expression is invalid: ${(error as Error).message}`);
    }
  }
}

/** PCRE's extended mode: unescaped whitespace and `#` comments outside character classes are ignored. */
function stripExtended(pattern: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      out += c + (pattern[i + 1] ?? "");
      i++;
    } else if (inClass) {
      if (c === "]") inClass = false;
      out += c;
    } else if (c === "[") {
      inClass = true;
      out += c;
    } else if (c === "#") {
      while (i < pattern.length && pattern[i] !== "\n") i++;
    } else if (!/\s/.test(c)) {
      out += c;
    }
  }
  return out;
}

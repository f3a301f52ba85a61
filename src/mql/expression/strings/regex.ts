import { bsonTag } from "../../bson-types.ts";

/** A regex argument MongoDB rejects; `code` is MongoDB's error code. */
export class RegexArgumentError extends Error {
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

/** Pattern and options of a `regex` argument: a string, a JS RegExp or a BSONRegExp; undefined for other types. */
export function regexSource(value: unknown): { pattern: string; options: string } | undefined {
  if (typeof value === "string") return { pattern: value, options: "" };
  if (value instanceof RegExp) return { pattern: value.source, options: value.flags.replace(/[gyduv]/g, "") };
  if (typeof value === "object" && value !== null && bsonTag(value) === "BSONRegExp") {
    const r = value as { pattern: string; options: string };
    return { pattern: r.pattern, options: r.options };
  }
  return undefined;
}

/** Removes unescaped whitespace and `#` comments outside character classes (PCRE's extended mode). */
function stripExtended(pattern: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\") {
      out += ch + (pattern[i + 1] ?? "");
      i++;
    } else if (inClass) {
      if (ch === "]") inClass = false;
      out += ch;
    } else if (ch === "[") {
      inClass = true;
      out += ch;
    } else if (ch === "#") {
      while (i < pattern.length && pattern[i] !== "\n") i++;
    } else if (!/\s/.test(ch)) {
      out += ch;
    }
  }
  return out;
}

/**
 * Builds the global JS RegExp for a MongoDB pattern and options (i m s x). Unicode mode matches PCRE's
 * UTF-8 mode; patterns that are valid PCRE but not valid in unicode mode fall back to non-unicode mode.
 */
export function buildRegex(operator: string, pattern: string, options: string): RegExp {
  if (pattern.includes("\0")) {
    throw new RegexArgumentError(
      `${operator}: regular expression cannot contain an embedded null byte`,
      51109,
    );
  }
  let flags = "g";
  let source = pattern;
  for (const option of options) {
    if (option === "x") source = stripExtended(pattern);
    else if (option === "i" || option === "m" || option === "s") {
      if (!flags.includes(option)) flags += option;
    } else throw new RegexArgumentError(`${operator} invalid flag in regex options: ${option}`, 51108);
  }
  try {
    return new RegExp(source, flags + "u");
  } catch {
    try {
      return new RegExp(source, flags);
    } catch (err) {
      throw new RegexArgumentError(
        `${operator}: Invalid regular expression: ${(err as Error).message}`,
        51111,
      );
    }
  }
}

import { bsonTag } from "./bson-types.ts";

/** A regex in MongoDB's terms: a PCRE pattern and its option letters. */
export interface RegexSpec {
  readonly pattern: string;
  readonly options: string;
}

/** Why a MongoDB pattern and options cannot become a JS RegExp. */
export type RegexProblem =
  | { readonly kind: "invalidOption"; readonly option: string }
  | { readonly kind: "nullByte" }
  | { readonly kind: "invalidPattern"; readonly message: string };

const VALID_OPTIONS = new Set(["i", "m", "s", "x"]);

/** The pattern and options of a RegExp or bson BSONRegExp, or undefined for any other value. */
export function regexSpecOf(value: unknown): RegexSpec | undefined {
  if (value instanceof RegExp) return { pattern: value.source, options: mongoOptions(value.flags) };
  if (typeof value === "object" && value !== null && bsonTag(value) === "BSONRegExp") {
    const r = value as { pattern: string; options: string };
    return { pattern: r.pattern, options: r.options };
  }
  return undefined;
}

/** The MongoDB options a JS RegExp's flags stand for (g, y, u, v, d have no MongoDB meaning). */
function mongoOptions(flags: string): string {
  let out = "";
  for (const f of flags) if (VALID_OPTIONS.has(f)) out += f;
  return out;
}

/**
 * The JS RegExp for a MongoDB regex (options i, m, s, x) with `extraFlags` (e.g. "g") added, or the
 * problem that prevents it: options are checked first, then the pattern.
 */
export function compileMongoRegex(spec: RegexSpec, extraFlags = ""): RegExp | RegexProblem {
  let flags = extraFlags;
  let extended = false;
  for (const option of spec.options) {
    if (!VALID_OPTIONS.has(option)) return { kind: "invalidOption", option };
    if (option === "x") extended = true;
    else if (!flags.includes(option)) flags += option;
  }
  if (spec.pattern.includes("\0")) return { kind: "nullByte" };
  const source = extended ? stripExtended(spec.pattern) : spec.pattern;
  // Unicode mode is closest to PCRE's UTF-8 mode ("." and case folding work on code points); patterns
  // that are only valid without it (PCRE accepts escapes like "\_" that unicode mode rejects) fall back.
  try {
    return new RegExp(source, flags + "u");
  } catch {
    const scripts = withScriptProperties(source);
    if (scripts !== source) {
      try {
        return new RegExp(scripts, flags + "u");
      } catch {
        // fall through to non-unicode mode
      }
    }
    try {
      return new RegExp(source, flags);
    } catch (error) {
      return { kind: "invalidPattern", message: (error as Error).message };
    }
  }
}

/** PCRE names scripts bare (`\p{Latin}`); JS wants `\p{Script=Latin}` for anything not a category. */
function withScriptProperties(pattern: string): string {
  return pattern.replace(/\\([pP])\{([A-Za-z_]+)\}/g, (whole, p: string, name: string) =>
    isUnicodeProperty(name) ? whole : `\\${p}{Script=${name}}`,
  );
}

function isUnicodeProperty(name: string): boolean {
  try {
    new RegExp(`\\p{${name}}`, "u");
    return true;
  } catch {
    return false;
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

import { compileMongoRegex, regexSpecOf, type RegexSpec } from "../../regex.ts";

/** A regex argument MongoDB rejects; `code` is MongoDB's error code. */
export class RegexArgumentError extends Error {
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

/** Pattern and options of a `regex` argument: a string, a JS RegExp or a BSONRegExp; undefined for other types. */
export function regexSource(value: unknown): RegexSpec | undefined {
  if (typeof value === "string") return { pattern: value, options: "" };
  return regexSpecOf(value);
}

/**
 * Builds the global JS RegExp for a MongoDB pattern and options (i m s x). Unlike the query `$regex`,
 * the expressions reject an embedded null byte before looking at the options.
 */
export function buildRegex(operator: string, pattern: string, options: string): RegExp {
  if (pattern.includes("\0")) throw nullByteError(operator);
  // "u" (accepted since MongoDB 5.1) asks for UTF-8 matching, which every pattern here already gets.
  const re = compileMongoRegex({ pattern, options: options.replaceAll("u", "") }, "g");
  if (re instanceof RegExp) return re;
  switch (re.kind) {
    case "invalidOption":
      throw new RegexArgumentError(`${operator} invalid flag in regex options: ${re.option}`, 51108);
    case "nullByte":
      throw nullByteError(operator);
    case "invalidPattern":
      throw new RegexArgumentError(`${operator}: Invalid regular expression: ${re.message}`, 51111);
  }
}

function nullByteError(operator: string): RegexArgumentError {
  return new RegexArgumentError(
    `${operator}: regular expression cannot contain an embedded null byte`,
    51109,
  );
}

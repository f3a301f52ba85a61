import { MqlCompileError } from "../errors.ts";
import { compileMongoRegex, regexSpecOf, type RegexSpec } from "../regex.ts";
import type { ValueTest } from "./path.ts";

export { regexSpecOf, type RegexSpec } from "../regex.ts";

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
  const re = compileMongoRegex(spec);
  if (re instanceof RegExp) return re;
  switch (re.kind) {
    case "invalidOption":
      throw new MqlCompileError(path, `invalid flag in regex options: ${re.option}`);
    case "nullByte":
      throw new MqlCompileError(path, "Regular expression cannot contain an embedded null byte");
    case "invalidPattern":
      throw new MqlCompileError(path, `Regular expression is invalid: ${re.message}`);
  }
}

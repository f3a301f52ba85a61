/** Naming rules for workspaces and processors (they appear in URL paths and metric labels). */
import { typeName, type Problem } from "./errors.ts";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A problem when `value` is not a valid workspace/processor name, else undefined. */
export function nameProblem(value: unknown, path: string, what: string): Problem | undefined {
  if (typeof value !== "string" || value === "") {
    return {
      path,
      message: `${what} needs a non-empty string name`,
      expected: "string",
      got: value === "" ? "empty string" : typeName(value),
    };
  }
  if (!NAME.test(value)) {
    return {
      path,
      message: `invalid ${what} name '${value}': use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
      expected: "a name matching [A-Za-z0-9][A-Za-z0-9._-]{0,63}",
      got: JSON.stringify(value),
    };
  }
  return undefined;
}

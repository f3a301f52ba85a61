/**
 * Shapes of the API's request bodies. A body that does not fit gets every problem at once, each with its
 * path, what was expected and what was sent. (What a definition means is checked by the control plane.)
 */
import { Timestamp } from "bson";
import { isPlainObject } from "../mql/bson-types.ts";
import { typeName, type Problem } from "../control/errors.ts";
import { ApiError } from "./api-error.ts";

type FieldType = "string" | "boolean" | "array" | "object" | "timestamp";

interface Field {
  readonly type: readonly FieldType[];
  readonly required?: boolean;
}

type Shape = Readonly<Record<string, Field>>;

const EXPECTED: Readonly<Record<FieldType, string>> = {
  string: "string",
  boolean: "boolean",
  array: "array",
  object: "object",
  timestamp: "ISO-8601 date-time string, {$date} or {$timestamp}",
};

export const WORKSPACE_BODY: Shape = { name: { type: ["string"], required: true } };

export const PROCESSOR_BODY: Shape = {
  name: { type: ["string"], required: true },
  pipeline: { type: ["array"], required: true },
  options: { type: ["object"] },
};

export const START_BODY: Shape = {
  resumeFromCheckpoint: { type: ["boolean"] },
  startAtOperationTime: { type: ["timestamp"] },
  startAfter: { type: ["object"] },
  tier: { type: ["string"] },
};

export const MODIFY_BODY: Shape = {
  name: { type: ["string"] },
  pipeline: { type: ["array"] },
  options: { type: ["object"] },
  resumeFromCheckpoint: { type: ["boolean"] },
};

/** Throws a 400 listing every problem when `body` does not fit `shape`; `optionalBody` accepts no body. */
export function checkBody(
  body: unknown,
  shape: Shape,
  what: string,
  optionalBody = false,
): Record<string, unknown> {
  if (body === undefined && optionalBody) return {};
  const problems: Problem[] = [];
  if (!isPlainObject(body)) {
    problems.push({
      path: "",
      message: `the body must be a JSON object (${what})`,
      expected: "object",
      got: typeName(body),
    });
  } else {
    for (const [key, field] of Object.entries(shape)) {
      const value = body[key];
      if (value === undefined) {
        if (field.required)
          problems.push({
            path: key,
            message: `${key} is required`,
            expected: expected(field),
            got: "missing",
          });
      } else if (!field.type.some((t) => fits(value, t))) {
        problems.push({
          path: key,
          message: `${key} must be ${expected(field)}`,
          expected: expected(field),
          got: typeName(value),
        });
      }
    }
    for (const key of Object.keys(body)) {
      if (!(key in shape)) {
        problems.push({
          path: key,
          message: `unknown field '${key}'`,
          expected: `one of ${Object.keys(shape).join(", ")}`,
          got: typeName(body[key]),
        });
      }
    }
  }
  if (problems.length > 0) {
    const first = problems[0];
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more, see problems[])` : "";
    const problem = `${first.path ? `${first.path}: ` : ""}${first.message}${more}; expected ${what}`;
    throw ApiError.of("INVALID_BODY", { problem }, { problems });
  }
  return body as Record<string, unknown>;
}

function expected(field: Field): string {
  return field.type.map((t) => EXPECTED[t]).join(" or ");
}

function fits(value: unknown, type: FieldType): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "boolean":
      return typeof value === "boolean";
    case "array":
      return Array.isArray(value);
    case "object":
      return isPlainObject(value);
    case "timestamp":
      return typeof value === "string" || value instanceof Date || value instanceof Timestamp;
  }
}

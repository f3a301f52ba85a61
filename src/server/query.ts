/** Query-string parameters with checked types (a bad one is a 400 naming it). */
import { ApiError } from "./api-error.ts";

export function booleanParam(query: URLSearchParams, name: string): boolean | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  if (raw === "true" || raw === "1" || raw === "") return true;
  if (raw === "false" || raw === "0") return false;
  throw badParam(name, "true or false", raw);
}

export function integerParam(
  query: URLSearchParams,
  name: string,
  range: { min: number; max: number; default: number },
): number {
  const raw = query.get(name);
  if (raw === null) return range.default;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < range.min || value > range.max) {
    throw badParam(name, `an integer from ${range.min} to ${range.max}`, raw);
  }
  return value;
}

function badParam(name: string, expected: string, got: string): ApiError {
  return ApiError.of(
    "INVALID_QUERY",
    { name, expected, got },
    {
      problems: [
        { path: `query.${name}`, message: `${name} must be ${expected}`, expected, got: JSON.stringify(got) },
      ],
    },
  );
}

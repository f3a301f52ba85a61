import { MqlCompileError } from "../errors.ts";

/**
 * Splits and checks a dotted output field path of a stage spec (`$project`, `$addFields`, `$unset`…):
 * no empty components, none starting with '$'. Errors are located at `path`.
 */
export function splitFieldPath(field: string, path: string, stage: string): string[] {
  if (field === "")
    throw new MqlCompileError(
      path,
      `Invalid ${stage} :: caused by :: FieldPath cannot be constructed with empty string`,
    );
  const parts = field.split(".");
  for (const part of parts) {
    if (part === "") {
      throw new MqlCompileError(
        path,
        `Invalid ${stage} :: caused by :: FieldPath field names may not be empty strings ('${field}')`,
      );
    }
    if (part.startsWith("$")) {
      throw new MqlCompileError(
        path,
        `Invalid ${stage} :: caused by :: FieldPath field names may not start with '$' ('${field}')`,
      );
    }
  }
  return parts;
}

/** `path.field` (or `field` when the path is empty), for error locations. */
export function childPath(path: string, field: string): string {
  return path ? `${path}.${field}` : field;
}

import { MqlCompileError } from "../errors.ts";
import type { CompileOptions } from "../types.ts";
import { splitFieldPath } from "./field-name.ts";
import { excludeDoc, type DocTransform } from "./project.ts";
import { EXCLUDE, ProjectionNode } from "./projection-tree.ts";

/** Compiles `$unset` (a field name or an array of them): an exclusion projection, `_id` included. */
export function compileUnset(spec: unknown, options: CompileOptions = {}): DocTransform {
  const path = options.path ?? "$unset";
  const fields = typeof spec === "string" ? [spec] : spec;
  if (!Array.isArray(fields)) {
    throw new MqlCompileError(path, "$unset specification must be a string or an array");
  }
  if (fields.length === 0)
    throw new MqlCompileError(
      path,
      "$unset specification must be a string or an array with at least one field",
    );
  const root = new ProjectionNode();
  fields.forEach((field: unknown, i) => {
    const fieldPath = typeof spec === "string" ? path : `${path}[${i}]`;
    if (typeof field !== "string") {
      throw new MqlCompileError(
        fieldPath,
        "$unset specification must be a string or an array containing only string values",
      );
    }
    root.add(splitFieldPath(field, fieldPath, "$unset"), EXCLUDE, fieldPath, "$unset");
  });
  root.freeze();
  return (doc) => excludeDoc(root, doc);
}

import { isPlainObject } from "../bson-types.ts";
import { MqlCompileError } from "../errors.ts";
import type { CompileOptions, Doc } from "../types.ts";
import { splitFieldPath } from "./field-name.ts";

/** A compiled `$unwind`: one input document → zero or more output documents. */
export type DocExpander = (doc: Doc) => Doc[];

const OPTIONS = new Set(["path", "includeArrayIndex", "preserveNullAndEmptyArrays"]);

/**
 * Compiles `$unwind` (`"$path"` or `{path, includeArrayIndex, preserveNullAndEmptyArrays}`). An array yields
 * one document per element; a non-array, non-null value yields the document unchanged; null, missing and
 * empty arrays yield nothing unless preserved (an empty array's field is then removed, as MongoDB does).
 * The array index is a JS number (MongoDB writes a Long; see docs/mql-differences.md).
 */
export function compileUnwind(spec: unknown, options: CompileOptions = {}): DocExpander {
  const path = options.path ?? "$unwind";
  let fieldPath: unknown;
  let indexField: string | undefined;
  let preserve = false;
  if (typeof spec === "string") {
    fieldPath = spec;
  } else if (isPlainObject(spec)) {
    for (const key of Object.keys(spec)) {
      if (!OPTIONS.has(key))
        throw new MqlCompileError(`${path}.${key}`, `unrecognized option to $unwind stage: ${key}`);
    }
    fieldPath = spec.path;
    if (fieldPath === undefined) throw new MqlCompileError(path, "no path specified to $unwind stage");
    if (spec.includeArrayIndex !== undefined) {
      const index = spec.includeArrayIndex;
      const indexPath = `${path}.includeArrayIndex`;
      if (typeof index !== "string" || index === "") {
        throw new MqlCompileError(
          indexPath,
          "expected a non-empty string for the includeArrayIndex option to $unwind stage",
        );
      }
      if (index.startsWith("$")) {
        throw new MqlCompileError(
          indexPath,
          `includeArrayIndex option to $unwind stage should not be prefixed with a '$': ${index}`,
        );
      }
      splitFieldPath(index, indexPath, "$unwind");
      indexField = index;
    }
    if (spec.preserveNullAndEmptyArrays !== undefined) {
      if (typeof spec.preserveNullAndEmptyArrays !== "boolean") {
        throw new MqlCompileError(
          `${path}.preserveNullAndEmptyArrays`,
          "expected a boolean for the preserveNullAndEmptyArrays option to $unwind stage",
        );
      }
      preserve = spec.preserveNullAndEmptyArrays;
    }
  } else {
    throw new MqlCompileError(
      path,
      "expected either a string or an object as specification for $unwind stage",
    );
  }
  const pathAt = typeof spec === "string" ? path : `${path}.path`;
  if (typeof fieldPath !== "string")
    throw new MqlCompileError(pathAt, "expected a string as the path for $unwind stage");
  if (!fieldPath.startsWith("$")) {
    throw new MqlCompileError(
      pathAt,
      `path option to $unwind stage should be prefixed with a '$': ${fieldPath}`,
    );
  }
  const parts = splitFieldPath(fieldPath.slice(1), pathAt, "$unwind");
  const indexParts = indexField === undefined ? undefined : indexField.split(".");
  const withIndex = (doc: Doc, index: number | null): Doc =>
    indexParts ? setPath(doc, indexParts, 0, index) : doc;

  return (doc) => {
    const value = getPath(doc, parts);
    if (Array.isArray(value)) {
      if (value.length === 0) return preserve ? [withIndex(unsetPath(doc, parts, 0), null)] : [];
      const out = new Array<Doc>(value.length);
      for (let i = 0; i < value.length; i++) out[i] = withIndex(setPath(doc, parts, 0, value[i]), i);
      return out;
    }
    if (value === null || value === undefined) return preserve ? [withIndex(doc, null)] : [];
    return [withIndex(doc, null)];
  };
}

/** `Document::getNestedField`: descends subdocuments only (an array on the way means missing). */
function getPath(doc: Doc, parts: readonly string[]): unknown {
  let current: unknown = doc;
  for (const part of parts) {
    if (!isPlainObject(current)) return undefined;
    current = current[part];
  }
  return current;
}

/** A copy of `doc` with `parts` set to `value`, copying only the subdocuments on the path. */
function setPath(doc: Doc, parts: readonly string[], i: number, value: unknown): Doc {
  const out: Doc = { ...doc };
  const key = parts[i];
  if (i === parts.length - 1) out[key] = value;
  else {
    const next = doc[key];
    out[key] = setPath(isPlainObject(next) ? next : {}, parts, i + 1, value);
  }
  return out;
}

function unsetPath(doc: Doc, parts: readonly string[], i: number): Doc {
  const out: Doc = { ...doc };
  const key = parts[i];
  if (i === parts.length - 1) delete out[key];
  else out[key] = unsetPath(doc[key] as Doc, parts, i + 1);
  return out;
}

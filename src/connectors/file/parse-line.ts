import { calculateObjectSize, Double, EJSON, Int32 } from "bson";
import { rejectInvalidDates } from "../../codec/ejson.ts";
import { isPlainObject, type Doc } from "../../mql/index.ts";

/** MongoDB's maximum document size. */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;
/** Deepest nesting accepted (MongoDB refuses documents nested deeper than this when storing them). */
export const MAX_NESTING_DEPTH = 180;

export type ParsedLine =
  { readonly doc: Doc; readonly error?: undefined } | { readonly doc?: undefined; readonly error: string };

/**
 * Parses one JSON Lines line as relaxed or canonical Extended JSON into a document. Never throws: anything
 * that is not a document of acceptable size and depth comes back as `error`.
 */
export function parseJsonLine(line: string): ParsedLine {
  // A line this short cannot nest deeper than the limit, so the scan is skipped on the hot path.
  if (line.length > MAX_NESTING_DEPTH * 2) {
    const depth = nestingDepth(line);
    if (depth > MAX_NESTING_DEPTH) {
      return { error: `document nesting depth ${depth} exceeds the maximum of ${MAX_NESTING_DEPTH}` };
    }
  }
  let value: unknown;
  try {
    value = parseExtendedJson(line);
  } catch (error) {
    return { error: `invalid JSON: ${(error as Error).message}` };
  }
  if (!isPlainObject(value)) {
    return {
      error: `expected a JSON object, got ${Array.isArray(value) ? "an array" : value === null ? "null" : typeof value}`,
    };
  }
  // BSON can be a few times larger than its JSON text, so only long lines need the exact size.
  if (line.length > MAX_DOCUMENT_BYTES / 8) {
    const size = calculateObjectSize(value);
    if (size > MAX_DOCUMENT_BYTES) {
      return {
        error: `document of ${size} bytes exceeds the maximum BSON document size of ${MAX_DOCUMENT_BYTES} bytes`,
      };
    }
  }
  return { doc: value };
}

/**
 * Relaxed Extended JSON → value. Text without any `"$` key cannot hold an Extended JSON wrapper, and plain
 * JSON.parse gives the same result for it several times faster than EJSON's reviver-based parser.
 * Relaxed EJSON turns `$numberLong` into a JS number and loses precision beyond 2^53, so such text is
 * parsed canonically and only its Int32/Double wrappers are unwrapped (Longs stay Longs).
 */
export function parseExtendedJson(text: string): unknown {
  if (!text.includes('"$')) return JSON.parse(text);
  if (text.includes('"$numberLong"'))
    return rejectInvalidDates(text, unwrapNumbers(EJSON.parse(text, { relaxed: false })));
  return rejectInvalidDates(text, EJSON.parse(text, { relaxed: true }));
}

function unwrapNumbers(value: unknown): unknown {
  if (value instanceof Int32 || value instanceof Double) return value.valueOf();
  if (Array.isArray(value)) return value.map(unwrapNumbers);
  if (isPlainObject(value)) {
    for (const key of Object.keys(value)) value[key] = unwrapNumbers(value[key]);
  }
  return value;
}

/** Deepest `{`/`[` nesting outside string literals. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash escapes the next character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) max = depth;
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

import { isPlainObject } from "../bson-types.ts";
import { compareValues } from "../compare.ts";
import { compilePathReader } from "../expression/field-path.ts";

/** A compiled `sortBy` document: extracts a document's sort key and compares two keys. */
export interface SortSpec {
  keyOf(doc: unknown): unknown[];
  compare(a: readonly unknown[], b: readonly unknown[]): number;
}

/**
 * Compiles `{field: 1 | -1, ...}` with `$sort`'s key rules: a missing field sorts as null, an array field
 * sorts by its smallest element ascending and its largest descending, an empty array before null.
 * Returns an error detail string when the spec is malformed.
 */
export function compileSortSpec(sortBy: unknown): SortSpec | string {
  if (!isPlainObject(sortBy)) return "sortBy must be an object, e.g. {field: 1}";
  const fields = Object.keys(sortBy);
  if (fields.length === 0) return "sortBy must name at least one field";
  const readers: Array<(doc: unknown) => unknown> = [];
  const directions: number[] = [];
  const nested: boolean[] = [];
  for (const field of fields) {
    const direction = sortBy[field];
    if (direction !== 1 && direction !== -1)
      return `sortBy.${field} must be 1 or -1, got ${JSON.stringify(direction)}`;
    if (field === "" || field.startsWith("$") || field.split(".").some((p) => p === "")) {
      return `sortBy field '${field}' is not a valid field path`;
    }
    readers.push(compilePathReader(field.split(".")));
    directions.push(direction);
    nested.push(field.includes("."));
  }
  return {
    keyOf(doc) {
      const key = new Array<unknown>(readers.length);
      for (let i = 0; i < readers.length; i++)
        key[i] = sortKeyValue(readers[i](doc), directions[i], nested[i]);
      return key;
    },
    compare(a, b) {
      for (let i = 0; i < directions.length; i++) {
        const c = compareValues(a[i], b[i]);
        if (c !== 0) return c * directions[i];
      }
      return 0;
    },
  };
}

/** `flatten`: a dotted path may cross several arrays, whose elements all count (one level for a plain field). */
function sortKeyValue(value: unknown, direction: number, flatten: boolean): unknown {
  if (value === undefined) return null;
  if (!Array.isArray(value)) return value;
  let best: unknown = undefined;
  let found = false;
  const visit = (item: unknown): void => {
    if (flatten && Array.isArray(item)) {
      for (const inner of item) visit(inner);
      return;
    }
    const v = item === undefined ? null : item;
    if (!found || compareValues(v, best) * direction < 0) {
      best = v;
      found = true;
    }
  };
  for (const item of value) visit(item);
  return found ? best : undefined;
}

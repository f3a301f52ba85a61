import { bsonTypeOf, isPlainObject } from "./bson-types.ts";
import type { Doc } from "./types.ts";

/**
 * One `$mergeObjects` input (expression argument or accumulated value): copies the defined fields of
 * `value` into `target`, later fields winning; null and missing add nothing. Any other non-document value
 * throws `nonObject(message)` with MongoDB's message (code 40400), `describe` printing the value.
 */
export function mergeObjectInto(
  target: Doc,
  value: unknown,
  describe: (value: unknown) => string,
  nonObject: (message: string) => Error,
): void {
  if (value === undefined || value === null) return;
  if (!isPlainObject(value)) {
    throw nonObject(
      `$mergeObjects requires object inputs, but input ${describe(value)} is of type ${bsonTypeOf(value)}`,
    );
  }
  for (const key of Object.keys(value)) {
    const field = value[key];
    if (field !== undefined) target[key] = field;
  }
}

/** PostgreSQL identifiers and type names as Eddy accepts them in a definition, and their quoted SQL form. */

/** `name` or `schema.name`: letters, digits, `_` and `$`, not starting with a digit. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;
/** A type name as PostgreSQL spells it: `text`, `numeric(12,2)`, `timestamp with time zone`, `int[]`… */
const TYPE_NAME = /^[A-Za-z][A-Za-z0-9_ ]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?(\[\])*$/;

export function isIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}

/** `orders` or `bi.orders`. */
export function isTableName(name: string): boolean {
  const parts = name.split(".");
  return parts.length <= 2 && parts.every(isIdentifier);
}

export function isTypeName(type: string): boolean {
  return TYPE_NAME.test(type.trim());
}

/** `"name"`: quoted, so case and reserved words are kept as written. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"bi"."orders"` from `bi.orders`. */
export function quoteTable(name: string): string {
  return name.split(".").map(quoteIdentifier).join(".");
}

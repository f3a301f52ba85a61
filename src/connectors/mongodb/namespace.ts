/** MongoDB's rules for database and collection names, checked before writing so a bad name gets a clear error. */

const DB_FORBIDDEN = /[/\\. "$\0]/;

/** Why `db.coll` is not a namespace MongoDB accepts, or undefined when it is fine. */
export function namespaceProblem(db: string, coll: string): string | undefined {
  if (db === "") return "the database name is empty";
  if (DB_FORBIDDEN.test(db))
    return `invalid database name '${db}': it may not contain / \\ . space " $ or NUL`;
  if (Buffer.byteLength(db) >= 64) return `invalid database name '${db}': it must be shorter than 64 bytes`;
  if (coll === "") return "the collection name is empty";
  if (coll.includes("$") || coll.includes("\0"))
    return `invalid collection name '${coll}': it may not contain $ or NUL`;
  if (coll.startsWith("system.")) return `invalid collection name '${coll}': the system. prefix is reserved`;
  if (coll.startsWith(".") || coll.endsWith("."))
    return `invalid collection name '${coll}': it may not start or end with a dot`;
  return undefined;
}

/**
 * The SQL the PostgreSQL `$emit` sends: multi-row `INSERT … ON CONFLICT (…) DO UPDATE`, the matching
 * `DELETE`, and the optional `CREATE TABLE`. Texts are cached per row count, since a steady stream sends
 * full batches of the same size.
 */
import { quoteIdentifier, quoteTable } from "./identifiers.ts";

export interface TableShape {
  /** As written in the definition (`orders` or `bi.orders`). */
  readonly table: string;
  /** Every column written, in parameter order. */
  readonly columns: readonly string[];
  readonly conflictColumns: readonly string[];
  /** PostgreSQL type per column, when given: parameters are cast to it, and `createTable` uses it. */
  readonly types: Readonly<Record<string, string>>;
}

/** PostgreSQL's limit of bind parameters in one statement. */
const MAX_PARAMETERS = 65_535;

/** Rows per statement: the configured batch size, or fewer when the columns would exceed the parameter limit. */
export function rowsPerStatement(shape: TableShape, batchSize: number): number {
  return Math.max(1, Math.min(batchSize, Math.floor(MAX_PARAMETERS / Math.max(1, shape.columns.length))));
}

export class Statements {
  private readonly shape: TableShape;
  private readonly upserts = new Map<number, string>();
  private readonly deletes = new Map<number, string>();
  private readonly table: string;
  private readonly casts: readonly string[];

  constructor(shape: TableShape) {
    this.shape = shape;
    this.table = quoteTable(shape.table);
    this.casts = shape.columns.map((column) => {
      const type = shape.types[column];
      return type === undefined ? "" : `::${type}`;
    });
  }

  /** `INSERT INTO t (a, b) VALUES ($1, $2), … ON CONFLICT (a) DO UPDATE SET b = EXCLUDED.b`. */
  upsert(rows: number): string {
    let text = this.upserts.get(rows);
    if (text === undefined) {
      const { columns, conflictColumns } = this.shape;
      const tuples = placeholders(rows, columns.length, this.casts);
      const updates = columns.filter((column) => !conflictColumns.includes(column));
      const action =
        updates.length === 0
          ? "DO NOTHING"
          : `DO UPDATE SET ${updates.map((c) => `${quoteIdentifier(c)} = EXCLUDED.${quoteIdentifier(c)}`).join(", ")}`;
      text =
        `INSERT INTO ${this.table} (${columns.map(quoteIdentifier).join(", ")}) VALUES ${tuples} ` +
        `ON CONFLICT (${conflictColumns.map(quoteIdentifier).join(", ")}) ${action}`;
      this.upserts.set(rows, text);
    }
    return text;
  }

  /** `DELETE FROM t WHERE (k) IN (($1), ($2), …)` by the conflict columns. */
  delete(rows: number): string {
    let text = this.deletes.get(rows);
    if (text === undefined) {
      const { conflictColumns, columns } = this.shape;
      const casts = conflictColumns.map((column) => this.casts[columns.indexOf(column)] ?? "");
      text =
        `DELETE FROM ${this.table} WHERE (${conflictColumns.map(quoteIdentifier).join(", ")}) IN ` +
        `(${placeholders(rows, conflictColumns.length, casts)})`;
      this.deletes.set(rows, text);
    }
    return text;
  }

  /** `CREATE TABLE IF NOT EXISTS t (a text, b numeric, PRIMARY KEY (a))`; needs a type for every column. */
  createTable(): string {
    const { columns, conflictColumns, types } = this.shape;
    const definitions = columns.map((column) => `${quoteIdentifier(column)} ${types[column]}`);
    return (
      `CREATE TABLE IF NOT EXISTS ${this.table} (${definitions.join(", ")}, ` +
      `PRIMARY KEY (${conflictColumns.map(quoteIdentifier).join(", ")}))`
    );
  }
}

/** `($1::t, $2), ($3::t, $4)` for `rows` tuples of `width` parameters. */
function placeholders(rows: number, width: number, casts: readonly string[]): string {
  const tuples: string[] = new Array<string>(rows);
  let n = 1;
  for (let row = 0; row < rows; row++) {
    const parts: string[] = new Array<string>(width);
    for (let i = 0; i < width; i++) parts[i] = `$${n++}${casts[i] ?? ""}`;
    tuples[row] = `(${parts.join(", ")})`;
  }
  return tuples.join(", ");
}

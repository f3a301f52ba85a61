/** Plain-text column tables for the `sp` command: a header, a dashed rule, one line per row. */

export interface Column {
  readonly header: string;
  /** Numbers read better right-aligned. Default "left". */
  readonly align?: "left" | "right";
  /** Cells of this column may be cut (ending in "…") when the table is wider than the terminal. */
  readonly shrink?: boolean;
}

export interface TableOptions {
  /** Maximum line length, usually the terminal's width; default: no limit. */
  readonly width?: number;
  /** Printed before every line. Default two spaces. */
  readonly indent?: string;
}

const GAP = "  ";
/** A shrinkable column is never cut below this many characters (or its header, if longer). */
const MIN_SHRUNK_WIDTH = 8;

/** Renders `rows` (one string per column) under `columns`; every line ends in "\n". */
export function formatTable(
  columns: readonly Column[],
  rows: ReadonlyArray<readonly string[]>,
  options: TableOptions = {},
): string {
  const indent = options.indent ?? "  ";
  const cells = rows.map((row) => columns.map((_, i) => oneLine(row[i] ?? "")));
  const widths = fitWidths(
    columns,
    columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i].length))),
    (options.width ?? Infinity) - indent.length,
  );
  const line = (values: readonly string[]): string =>
    (
      indent +
      values
        .map((value, i) => {
          const cut = truncate(value, widths[i]);
          const last = i === values.length - 1;
          if (columns[i].align === "right") return cut.padStart(widths[i]);
          return last ? cut : cut.padEnd(widths[i]);
        })
        .join(GAP)
    ).trimEnd() + "\n";
  return (
    line(columns.map((c) => c.header)) +
    indent +
    widths.map((w) => "-".repeat(w)).join(GAP) +
    "\n" +
    cells.map(line).join("")
  );
}

/** The terminal width of `stream` when it is a terminal (undefined when output goes to a file or pipe). */
export function terminalWidth(stream: NodeJS.WritableStream): number | undefined {
  const tty = stream as NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  return tty.isTTY && typeof tty.columns === "number" && tty.columns > 0 ? tty.columns : undefined;
}

/** Narrows the widest shrinkable columns, one character at a time, until the table fits `available`. */
function fitWidths(columns: readonly Column[], natural: readonly number[], available: number): number[] {
  const widths = [...natural];
  const total = (): number => widths.reduce((sum, w) => sum + w, 0) + GAP.length * (widths.length - 1);
  const floor = (i: number): number => Math.max(MIN_SHRUNK_WIDTH, columns[i].header.length);
  while (total() > available) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      if (columns[i].shrink && widths[i] > floor(i) && (widest < 0 || widths[i] > widths[widest])) widest = i;
    }
    if (widest < 0) break; // nothing left to cut: the terminal wraps the lines
    widths[widest]--;
  }
  return widths;
}

function truncate(value: string, width: number): string {
  return value.length <= width ? value : value.slice(0, Math.max(0, width - 1)) + "…";
}

function oneLine(value: string): string {
  return value.replace(/\s*\n\s*/g, " ");
}

import type { Doc } from "../../mql/index.ts";
import type { Sink, SinkResult } from "../../runtime/index.ts";

/** Renders window results of the solar demo as one small table per window. */
export class WindowTableSink implements Sink {
  readonly operatorName = "DemoTableSinkOperator";
  windows = 0;
  private readonly out: NodeJS.WritableStream;

  constructor(out: NodeJS.WritableStream) {
    this.out = out;
  }

  async write(docs: readonly Doc[]): Promise<SinkResult> {
    const byWindow = new Map<string, Doc[]>();
    for (const doc of docs) {
      const window = (doc._stream_meta as { window?: { start?: Date; end?: Date } } | undefined)?.window;
      const key = `${time(window?.start)}–${time(window?.end)}`;
      byWindow.set(key, [...(byWindow.get(key) ?? []), doc]);
    }
    let text = "";
    for (const [key, rows] of byWindow) {
      this.windows++;
      text += renderTable(`window ${key} UTC — ${rows.length} devices`, rows);
    }
    this.out.write(text);
    return { bytes: Buffer.byteLength(text) };
  }

  async close(): Promise<void> {}
}

function time(date: Date | undefined): string {
  return date instanceof Date ? date.toISOString().slice(11, 19) : "?";
}

export function renderTable(title: string, rows: readonly Doc[]): string {
  const header = ["device", "avg watts", "max watts", "readings"];
  const cells = rows.map((r) => [String(r._id), fmt(r.avgWatts), fmt(r.maxWatts), fmt(r.readings)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (values: string[]): string =>
    "  " + values.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ") + "\n";
  return (
    `\n${title}\n` +
    line(header) +
    "  " +
    widths.map((w) => "-".repeat(w)).join("  ") +
    "\n" +
    cells.map(line).join("")
  );
}

function fmt(value: unknown): string {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(1);
  return value === undefined || value === null ? "-" : String(value);
}

import type { Doc } from "../../mql/index.ts";
import type { Sink, SinkResult } from "../../runtime/index.ts";
import { formatTable, type Column } from "../table.ts";

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

const COLUMNS: readonly Column[] = [
  { header: "device" },
  { header: "avg watts", align: "right" },
  { header: "max watts", align: "right" },
  { header: "readings", align: "right" },
];

export function renderTable(title: string, rows: readonly Doc[]): string {
  const cells = rows.map((r) => [String(r._id), fmt(r.avgWatts), fmt(r.maxWatts), fmt(r.readings)]);
  return `\n${title}\n` + formatTable(COLUMNS, cells);
}

function fmt(value: unknown): string {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(1);
  return value === undefined || value === null ? "-" : String(value);
}

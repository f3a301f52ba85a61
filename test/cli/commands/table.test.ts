import { describe, expect, it } from "vitest";
import { renderTable } from "../../../src/cli/commands/demo-table.ts";
import { renderStatsTable } from "../../../src/cli/commands/processor-stats.ts";
import { formatAge, formatBytes, formatCount, formatTimestamp } from "../../../src/cli/format.ts";
import { formatTable, type Column } from "../../../src/cli/table.ts";

const COLUMNS: Column[] = [
  { header: "NAME" },
  { header: "COUNT", align: "right" },
  { header: "NOTE", shrink: true },
];

describe("formatTable", () => {
  it("pads columns to their widest cell, right-aligns numbers and trims trailing blanks", () => {
    const text = formatTable(COLUMNS, [
      ["orders", "12", "ok"],
      ["x", "1,234", ""],
    ]);
    expect(text.split("\n")).toEqual([
      "  NAME    COUNT  NOTE",
      "  ------  -----  ----",
      "  orders     12  ok",
      "  x       1,234",
      "",
    ]);
  });

  it("cuts shrinkable columns with … to fit the width, never below 8 characters", () => {
    const note = "a long error message that does not fit on one terminal line";
    const text = formatTable(COLUMNS, [["orders", "1", note]], { width: 40 });
    for (const line of text.trimEnd().split("\n")) expect(line.length).toBeLessThanOrEqual(40);
    expect(text).toContain("…");
    expect(text).toContain(note.slice(0, 10));

    const narrow = formatTable(COLUMNS, [["orders", "1", note]], { width: 10 });
    const row = narrow.trimEnd().split("\n")[2];
    expect(row).toMatch(/ {2}orders {6}1 {2}a long …$/);
  });

  it("leaves columns that may not shrink whole and puts multi-line cells on one line", () => {
    const text = formatTable([{ header: "NAME" }, { header: "ERROR" }], [["p", "first\n  second"]], {
      width: 5,
    });
    expect(text).toContain("p     first second");
  });

  it("renders the demo's window tables as before", () => {
    const text = renderTable("window 00:00:00–00:00:05 UTC — 2 devices", [
      { _id: "device_1", avgWatts: 10.25, maxWatts: 20, readings: 3 },
      { _id: "device_10", avgWatts: 5, maxWatts: 5, readings: 1 },
    ]);
    expect(text).toBe(
      "\nwindow 00:00:00–00:00:05 UTC — 2 devices\n" +
        "  device     avg watts  max watts  readings\n" +
        "  ---------  ---------  ---------  --------\n" +
        "  device_1        10.3         20         3\n" +
        "  device_10          5          5         1\n",
    );
  });
});

describe("renderStatsTable", () => {
  const stats = (input: number, output: number) => ({
    inputMessageCount: input,
    outputMessageCount: output,
    dlqMessageCount: 1,
    inputMessageSize: 2048,
    outputMessageSize: 100,
    kafkaTotalOffsetLag: 7,
    watermark: { $date: "2024-03-19T22:16:49.523Z" },
    latency: { p50: 1250, p99: 48_000, unit: "microseconds" },
    stateSize: 4096,
  });

  it("shows counts, error rate, latency, memory, sizes, lag and watermark, and dashes without stats", () => {
    const lines = renderStatsTable([
      { name: "orders", state: "STARTED", stats: stats(1500, 1200) },
      { name: "idle", state: "CREATED", error: "no stats" },
    ]).split("\n");
    expect(lines[0].split(/\s{2,}/).filter(Boolean)).toEqual([
      "NAME",
      "STATE",
      "IN",
      "OUT",
      "DLQ",
      "ERR %",
      "P50 MS",
      "P99 MS",
      "MEMORY",
      "IN SIZE",
      "OUT SIZE",
      "LAG",
      "WATERMARK",
    ]);
    expect(lines[2]).toMatch(
      /orders +STARTED +1,500 +1,200 +1 +<0\.1% +1\.25 +48\.0 +4\.0 KiB +2\.0 KiB +100 B +7 msgs +2024-03-19 22:16:49/,
    );
    expect(lines[3]).toMatch(/idle +CREATED +- +- +- +- +- +- +- +- +- +-$/);
  });

  it("adds per-second rates when given the previous snapshot", () => {
    const text = renderStatsTable([{ name: "orders", state: "STARTED", stats: stats(1500, 1200) }], {
      previous: { at: 0, rows: [{ name: "orders", state: "STARTED", stats: stats(1000, 1000) }] },
      at: 2000,
    });
    expect(text).toContain("IN/S");
    expect(text).toMatch(/1,500 +250 +1,200 +100 +1 /);
  });
});

describe("format helpers", () => {
  it("formats counts, bytes, ages and timestamps", () => {
    expect(formatCount(1234567)).toBe("1,234,567");
    expect(formatCount(undefined)).toBe("-");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5.0 MiB");
    expect(formatAge("2024-01-01T00:00:00Z", Date.parse("2024-01-01T00:02:30Z"))).toBe("2m ago");
    expect(formatAge(undefined)).toBe("-");
    expect(formatTimestamp({ $date: { $numberLong: "0" } })).toBe("1970-01-01 00:00:00");
  });
});

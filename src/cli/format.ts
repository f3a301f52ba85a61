/** How the `sp` command prints numbers, sizes, times and states in tables. */
import type { Processor } from "./client.ts";

/** 1234567 → "1,234,567"; "-" for a missing value. */
export function formatCount(value: unknown): string {
  return typeof value === "number" && Number.isFinite(value)
    ? Math.round(value).toLocaleString("en-US")
    : "-";
}

/** Bytes in B / KiB / MiB / GiB with one decimal; "-" for a missing value. */
export function formatBytes(value: unknown): string {
  if (typeof value !== "number" || !Number.isFinite(value)) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let size = value;
  let unit = 0;
  while (Math.abs(size) >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit++;
  }
  return unit === 0 ? `${size} B` : `${size.toFixed(1)} ${units[unit]}`;
}

/** A count in short human units: 950 → "950", 12_345 → "12.3k", 4_200_000 → "4.2M"; "-" when missing. */
export function formatCompact(value: unknown): string {
  if (typeof value !== "number" || !Number.isFinite(value)) return "-";
  const units: ReadonlyArray<readonly [number, string]> = [
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [size, suffix] of units) {
    if (Math.abs(value) >= size) {
      const scaled = value / size;
      return `${scaled < 100 ? scaled.toFixed(1) : Math.round(scaled)}${suffix}`;
    }
  }
  return String(Math.round(value));
}

/** Seconds as "42s", "3m 20s", "2h 5m", "3d 4h"; "-" when missing. */
export function formatDuration(value: unknown): string {
  if (typeof value !== "number" || !Number.isFinite(value)) return "-";
  const seconds = Math.max(0, Math.round(value));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86_400)}d ${Math.floor((seconds % 86_400) / 3600)}h`;
}

/** Per-second rate with one decimal below 100; "-" when unknown. */
export function formatRate(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "-";
  return value < 100 ? value.toFixed(1) : formatCount(value);
}

/** A point in time (epoch ms, ISO string, Date, or `{$date}`) as a Date, or undefined. */
export function toDate(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value === "number" || typeof value === "string") {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? undefined : date;
  }
  if (typeof value === "object" && value !== null && "$date" in value) {
    const inner = (value as { $date: unknown }).$date;
    if (typeof inner === "object" && inner !== null && "$numberLong" in inner) {
      return toDate(Number((inner as { $numberLong: unknown }).$numberLong));
    }
    return toDate(inner);
  }
  return undefined;
}

/** How long ago `value` was, as "5s ago", "3m ago", "2h ago", "4d ago"; "-" when unknown. */
export function formatAge(value: unknown, now = Date.now()): string {
  const date = toDate(value);
  if (!date) return "-";
  const seconds = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

/** A UTC timestamp to the second ("2024-03-19 22:16:49"), "-" when unknown. */
export function formatTimestamp(value: unknown): string {
  const date = toDate(value);
  return date ? date.toISOString().slice(0, 19).replace("T", " ") : "-";
}

/** A processor's state, with the supervisor's "retrying" shown for one that is STARTED but reconnecting. */
export function stateLabel(processor: Pick<Processor, "state" | "status">): string {
  return processor.state === "STARTED" && processor.status?.state === "retrying"
    ? "STARTED (retrying)"
    : processor.state;
}

/** JSON with object keys sorted, for comparing documents whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(
          Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : item,
  );
}

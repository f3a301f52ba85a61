/** `sp processors stats` / `sp stats`: ASP stats as a table or JSON, once or live with --watch. */
import { setTimeout as sleep } from "node:timers/promises";
import { UsageError } from "../args.ts";
import { ApiError, type Processor, type ProcessorStatsDoc, type StatsReply } from "../client.ts";
import { CliError, EXIT } from "../errors.ts";
import {
  formatBytes,
  formatCompact,
  formatCount,
  formatDuration,
  formatRate,
  formatTimestamp,
  stateLabel,
  toDate,
} from "../format.ts";
import type { Remote } from "../remote.ts";
import { formatTable, terminalWidth, type Column } from "../table.ts";

export const STATS_OPTIONS = { valued: ["interval", "count", "scale"], flags: ["watch", "verbose"] } as const;

/** One processor's line of a stats snapshot. */
export interface StatsRow {
  readonly name: string;
  readonly state: string;
  readonly stats?: ProcessorStatsDoc;
  /** Why there are no stats (e.g. the processor is stopped). */
  readonly error?: string;
  /** The server's reply as is. */
  readonly reply?: StatsReply;
}

interface Snapshot {
  readonly at: number;
  readonly rows: readonly StatsRow[];
  /** The server's reply as is, for `--processor NAME --json`. */
  readonly reply?: StatsReply;
}

const CLEAR_SCREEN = "\x1b[H\x1b[2J";

export async function statsCommand(remote: Remote, name: string | undefined): Promise<number> {
  const { options, flags } = remote.parsed;
  const verbose = flags.has("verbose");
  const scale = numberOption(options.get("scale"), "--scale");
  // The table's latency columns need the verbose stats; JSON output stays what was asked for.
  const fetchSnapshot = (): Promise<Snapshot> =>
    snapshot(remote, name, { verbose: verbose || !remote.json, scale });
  if (!flags.has("watch")) {
    const once = await fetchSnapshot();
    const failed = name !== undefined ? once.rows[0] : undefined;
    if (failed?.error !== undefined) {
      throw new CliError(`no stats for processor '${name}' (${failed.state}): ${failed.error}`, {
        hint: `sp processors list shows its state and last error`,
      });
    }
    printSnapshot(remote, once, name, undefined);
    return EXIT.ok;
  }
  return watch(remote, name, fetchSnapshot, {
    intervalMs: (numberOption(options.get("interval"), "--interval") ?? 1) * 1000,
    count: numberOption(options.get("count"), "--count"),
  });
}

/** Redraws every interval until Ctrl-C (or `count` refreshes); an unreachable server is shown, not fatal. */
async function watch(
  remote: Remote,
  name: string | undefined,
  fetchSnapshot: () => Promise<Snapshot>,
  options: { intervalMs: number; count: number | undefined },
): Promise<number> {
  const { io } = remote;
  const interrupted = new AbortController();
  const stop = (): void => interrupted.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const tty = terminalWidth(io.stdout) !== undefined;
  let previous: Snapshot | undefined;
  try {
    for (let tick = 0; options.count === undefined || tick < options.count; tick++) {
      if (tick > 0) {
        const slept = await sleep(options.intervalMs, true, { signal: interrupted.signal }).catch(
          () => false,
        );
        if (!slept) break;
      }
      let current: Snapshot;
      try {
        current = await fetchSnapshot();
      } catch (error) {
        if (!(error instanceof CliError) || error.exitCode !== EXIT.unreachable) throw error;
        if (remote.json)
          io.stdout.write(JSON.stringify({ at: new Date().toISOString(), error: error.message }) + "\n");
        else
          io.stdout.write(
            `${tty ? CLEAR_SCREEN : ""}${error.message} — retrying every ${options.intervalMs / 1000}s (Ctrl-C to stop)\n`,
          );
        continue;
      }
      if (!remote.json) {
        const title =
          `workspace ${remote.workspace} at ${formatTimestamp(current.at)} UTC, every ` +
          `${options.intervalMs / 1000}s (Ctrl-C to stop)\n`;
        io.stdout.write(tty ? CLEAR_SCREEN + title : `\n${title}`);
      }
      printSnapshot(remote, current, name, previous);
      previous = current;
    }
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  return EXIT.ok;
}

async function snapshot(
  remote: Remote,
  name: string | undefined,
  options: { verbose: boolean; scale: number | undefined },
): Promise<Snapshot> {
  const { client, workspace } = remote;
  if (name !== undefined) {
    const processor = await client.getProcessor(workspace, name);
    const row = await rowOf(remote, processor, options);
    return { at: Date.now(), rows: [row], ...(row.reply ? { reply: row.reply } : {}) };
  }
  const processors = await client.listProcessors(workspace);
  const rows = await Promise.all(processors.map((p) => rowOf(remote, p, options)));
  return { at: Date.now(), rows };
}

async function rowOf(
  remote: Remote,
  processor: Processor,
  options: { verbose: boolean; scale: number | undefined },
): Promise<StatsRow> {
  try {
    const reply = await remote.client.stats(remote.workspace, processor.name, options);
    return { name: processor.name, state: stateLabel(processor), stats: reply.stats, reply };
  } catch (error) {
    if (error instanceof ApiError && error.exitCode === EXIT.failed) {
      return { name: processor.name, state: stateLabel(processor), error: error.message };
    }
    throw error;
  }
}

function printSnapshot(
  remote: Remote,
  current: Snapshot,
  name: string | undefined,
  previous: Snapshot | undefined,
): void {
  const { io } = remote;
  if (remote.json) {
    const at = new Date(current.at).toISOString();
    const rows = current.rows.map(({ reply: _reply, ...row }) => row);
    const doc =
      name === undefined
        ? { workspace: remote.workspace, at, results: rows }
        : (current.reply ?? { ...rows[0], at });
    io.stdout.write(JSON.stringify(doc) + "\n");
    return;
  }
  if (current.rows.length === 0) {
    io.stdout.write(
      `no processors in workspace '${remote.workspace}' — deploy them with: sp processors create\n`,
    );
    return;
  }
  io.stdout.write(
    renderStatsTable(current.rows, { previous, at: current.at, width: terminalWidth(io.stdout) }),
  );
  io.stdout.write(renderTaskTables(current.rows, terminalWidth(io.stdout)));
}

/**
 * For each scaled-out processor (`options.parallelism`), its tasks: where each runs, which partitions it
 * holds (the repartition topic's, and the source's its reader holds), its counters and lag. The processor's
 * own totals are its row in the stats table (the server sums them over partitions, docs/scale-out.md).
 */
export function renderTaskTables(rows: readonly StatsRow[], width?: number): string {
  const columns: Column[] = [
    { header: "TASK", align: "right" },
    { header: "INSTANCE" },
    { header: "PARTITIONS" },
    { header: "SOURCE PARTITIONS", shrink: true },
    { header: "IN", align: "right" },
    { header: "OUT", align: "right" },
    { header: "LAG", align: "right" },
  ];
  let out = "";
  for (const row of rows) {
    const tasks = row.stats?.tasks;
    if (!Array.isArray(tasks) || tasks.length === 0) continue;
    const cells = tasks.map((task) => [
      String(task.task),
      task.instance,
      task.partitions.join(","),
      (task.sourcePartitions ?? []).map((p: string) => p.slice(p.lastIndexOf(":") + 1)).join(","),
      formatCount(task.inputMessageCount),
      formatCount(task.outputMessageCount),
      formatCount(task.lag),
    ]);
    out +=
      `\n  tasks of ${row.name} (${tasks.length}):\n` +
      formatTable(columns, cells, { width }) +
      "  (IN/OUT: what ran on each task; a partition that moved counts in each task that ran it, so they\n" +
      "  may add up to more than the processor's IN/OUT above, which count every record once)\n";
  }
  return out;
}

/**
 * The stats table: counts, error rate (DLQ per input), latency p50/p99, memory (the server's
 * `memoryUsageBytes`, else the processor's operator state: window contents and caches, the part of the
 * server's memory a processor holds), sizes, lag and watermark per processor; with a previous snapshot,
 * also input and output rates per second.
 */
export function renderStatsTable(
  rows: readonly StatsRow[],
  options: { previous?: { at: number; rows: readonly StatsRow[] }; at?: number; width?: number } = {},
): string {
  const { previous } = options;
  const seconds = previous && options.at !== undefined ? (options.at - previous.at) / 1000 : undefined;
  const rate = (row: StatsRow, field: "inputMessageCount" | "outputMessageCount"): string => {
    const before = previous?.rows.find((r) => r.name === row.name)?.stats?.[field];
    const now = row.stats?.[field];
    if (seconds === undefined || !(seconds > 0) || typeof before !== "number" || typeof now !== "number")
      return "-";
    return formatRate(Math.max(0, now - before) / seconds);
  };
  const columns: Column[] = [
    { header: "NAME" },
    { header: "STATE" },
    { header: "IN", align: "right" },
    ...(previous ? [{ header: "IN/S", align: "right" } as const] : []),
    { header: "OUT", align: "right" },
    ...(previous ? [{ header: "OUT/S", align: "right" } as const] : []),
    { header: "DLQ", align: "right" },
    { header: "ERR %", align: "right" },
    { header: "P50 MS", align: "right" },
    { header: "P99 MS", align: "right" },
    { header: "MEMORY", align: "right" },
    { header: "IN SIZE", align: "right" },
    { header: "OUT SIZE", align: "right" },
    { header: "LAG", align: "right" },
    { header: "WATERMARK", shrink: true },
  ];
  const cells = rows.map((row) => {
    const s = row.stats;
    return [
      row.name,
      row.state,
      formatCount(s?.inputMessageCount),
      ...(previous ? [rate(row, "inputMessageCount")] : []),
      formatCount(s?.outputMessageCount),
      ...(previous ? [rate(row, "outputMessageCount")] : []),
      formatCount(s?.dlqMessageCount),
      errorRate(s),
      latencyMs(s?.latency?.p50),
      latencyMs(s?.latency?.p99),
      scaled(s?.memoryUsageBytes ?? s?.stateSize, s),
      scaled(s?.inputMessageSize, s),
      scaled(s?.outputMessageSize, s),
      lagOf(s),
      s ? formatTimestamp(s.watermark) : "",
    ];
  });
  return formatTable(columns, cells, { width: options.width });
}

/** Sizes are bytes unless `scale` made them KiB etc. (ASP's `scaleFactor`); then they are printed as is. */
function scaled(value: unknown, stats: ProcessorStatsDoc | undefined): string {
  const factor = stats?.scaleFactor;
  return typeof factor === "number" && factor !== 1 ? formatCount(value) : formatBytes(value);
}

/** Dead letters per input document, in percent. */
function errorRate(stats: ProcessorStatsDoc | undefined): string {
  const input = stats?.inputMessageCount;
  const dlq = stats?.dlqMessageCount;
  if (typeof input !== "number" || typeof dlq !== "number" || input === 0) return "-";
  const percent = (dlq / input) * 100;
  return `${percent === 0 ? "0" : percent < 0.1 ? "<0.1" : percent.toFixed(1)}%`;
}

/** ASP reports latency in microseconds. */
function latencyMs(micros: number | undefined): string {
  if (typeof micros !== "number") return "-";
  const ms = micros / 1000;
  return ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : String(Math.round(ms));
}

/**
 * Kafka offset lag ("12.3k msgs"), change-stream lag ("3m 20s"), else how far a running processor's
 * watermark is behind the clock.
 */
export function lagOf(stats: ProcessorStatsDoc | undefined, now = Date.now()): string {
  if (typeof stats?.kafkaTotalOffsetLag === "number") {
    return `${formatCompact(stats.kafkaTotalOffsetLag)} msg${stats.kafkaTotalOffsetLag === 1 ? "" : "s"}`;
  }
  if (typeof stats?.changeStreamTimeDifferenceSecs === "number")
    return formatDuration(stats.changeStreamTimeDifferenceSecs);
  const watermark = toDate(stats?.watermark);
  if (watermark && stats?.status === "running") return formatDuration((now - watermark.getTime()) / 1000);
  return "-";
}

function numberOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!(number > 0)) throw new UsageError(`${flag} expects a positive number, got '${value}'`);
  return number;
}

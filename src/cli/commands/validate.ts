import { existsSync } from "node:fs";
import { parseArgs, UsageError, type ParsedArgs } from "../args.ts";
import { loadCatalog, parseJsonText } from "../definition.ts";
import type { CliIo } from "../io.ts";
import { formatTable } from "../table.ts";
import { stringifyExtendedJson } from "../../codec/ejson.ts";
import type { Doc } from "../../mql/index.ts";
import type { ConnectionCatalog } from "../../pipeline/plan.ts";
import { measureLatency } from "../../migrate/validate/latency.ts";
import { runValidation, type ValidationReport, type Verdict } from "../../migrate/validate/run.ts";
import { openSide, SideError, type SideReader } from "../../migrate/validate/sides.ts";

export const VALIDATE_USAGE = `usage: sp validate --left CONN.db.coll --right CONN.db.coll [options]
       sp validate latency --source CONN.db.coll --left CONN.db.coll --right CONN.db.coll [options]

Compares the trigger-fed (left) and the stream-fed (right) copies of the same data by key: every
document missing on one side (MISSING_IN_LEFT, MISSING_IN_RIGHT) and every field that differs
(TYPE_MISMATCH, VALUE_MISMATCH). Discrepancies go to validation_discrepancies (a collection in the
right side's database, or a table for PostgreSQL); the report gives counts, accuracy and the top 10
fields, and a verdict: >= 99.9 % READY_FOR_PRODUCTION, >= 95 % MINOR_ISSUES, else MAJOR_ISSUES.
A side is CONN.db.coll for a Cluster connection, CONN.table or CONN.schema.table for PostgreSQL.
  --connections FILE        connection registry (default connections/connections.json)
  --key FIELD               the key on both sides (default _id)
  --since 24h               only documents since then (by --time-field, else by the ObjectId _id)
  --time-field FIELD        the field --since reads
  --sample N                compare N random keys from each side instead of all
  --ignore a,b              fields left out (e.g. updatedAt,__v,_etlProcessed)
  --time-tolerance 1s       dates this close are equal
  --numeric-tolerance 1%    numbers this close (relative) are equal
  --redact a,b              values never printed or stored (e.g. password,apiKey)
  --json                    print the report as JSON
latency: writes probe documents into --source (--rate 10 per second for --duration 120s, each with
the fields of --probe '{"status":"new"}') and reports p50/p95/p99 until each appears in both copies,
waiting --grace 30s after the last probe for stragglers (exit status 1 when some never arrived).
Exit status: 0 READY_FOR_PRODUCTION, 1 MINOR_ISSUES, 2 MAJOR_ISSUES or a usage error (the message
says which), 3 a side could not be read.`;

const EXIT_BY_VERDICT: Readonly<Record<Verdict, number>> = {
  READY_FOR_PRODUCTION: 0,
  MINOR_ISSUES: 1,
  MAJOR_ISSUES: 2,
};

const VALUED = [
  "connections",
  "left",
  "right",
  "key",
  "since",
  "time-field",
  "sample",
  "ignore",
  "time-tolerance",
  "numeric-tolerance",
  "redact",
  "source",
  "rate",
  "duration",
  "probe",
  "grace",
];

export async function validateCommand(args: readonly string[], io: CliIo): Promise<number> {
  let parsed: ParsedArgs;
  let catalog: ConnectionCatalog;
  try {
    parsed = parseArgs(args, { valued: VALUED, flags: ["json", "help"] });
    if (parsed.flags.has("help")) {
      io.stdout.write(`${VALIDATE_USAGE}\n`);
      return 0;
    }
    const file = parsed.options.get("connections") ?? "connections/connections.json";
    if (!existsSync(file)) throw new UsageError(`no connections file ${file}; pass --connections FILE`);
    catalog = await loadCatalog(file, io.stdin);
  } catch (error) {
    io.stderr.write(`sp validate: ${(error as Error).message}\n${VALIDATE_USAGE}\n`);
    return 2;
  }
  const sides: SideReader[] = [];
  try {
    const key = parsed.options.get("key") ?? "_id";
    const left = openSide(required(parsed, "left"), catalog, key);
    sides.push(left);
    const right = openSide(required(parsed, "right"), catalog, key);
    sides.push(right);
    if (parsed.positional[0] === "latency") return await latency(parsed, catalog, left, right, io);
    if (parsed.positional.length > 0) throw new UsageError(`unknown argument '${parsed.positional[0]}'`);
    const since = parsed.options.get("since");
    const sample = parsed.options.get("sample");
    const report = await runValidation(left, right, {
      keyFields: [key],
      ignore: list(parsed.options.get("ignore")),
      redact: list(parsed.options.get("redact")),
      timeToleranceMs: durationMs(parsed.options.get("time-tolerance") ?? "0s", "--time-tolerance"),
      numericTolerance: percent(parsed.options.get("numeric-tolerance") ?? "0%"),
      ...(since === undefined ? {} : { since: new Date(Date.now() - durationMs(since, "--since")) }),
      ...(parsed.options.has("time-field") ? { timeField: parsed.options.get("time-field") } : {}),
      ...(sample === undefined ? {} : { sample: positiveInt(sample, "--sample") }),
    });
    io.stdout.write(parsed.flags.has("json") ? `${stringifyExtendedJson(report)}\n` : printable(report));
    return EXIT_BY_VERDICT[report.verdict];
  } catch (error) {
    if (error instanceof UsageError || error instanceof SideError) {
      io.stderr.write(`sp validate: ${error.message}\n`);
      return 2;
    }
    io.stderr.write(`sp validate: could not read the copies: ${(error as Error).message}\n`);
    return 3;
  } finally {
    await Promise.all(sides.map((side) => side.close().catch(() => undefined)));
  }
}

async function latency(
  parsed: ParsedArgs,
  catalog: ConnectionCatalog,
  left: SideReader,
  right: SideReader,
  io: CliIo,
): Promise<number> {
  const source = required(parsed, "source");
  const [connectionName, db, ...coll] = source.split(".");
  const entry = catalog.get(connectionName);
  const uri = (entry?.config ?? {}).uri;
  if (entry?.type !== "Cluster" || typeof uri !== "string" || db === undefined || coll.length === 0)
    throw new UsageError(`--source must be CONN.db.coll on a Cluster connection, got '${source}'`);
  const probe = parsed.options.get("probe");
  const template = probe === undefined ? {} : (parseJsonText(probe, "--probe") as Doc);
  const summary = await measureLatency(left, right, {
    sourceUri: uri,
    db,
    coll: coll.join("."),
    ratePerSecond: positiveNumber(parsed.options.get("rate") ?? "10", "--rate"),
    durationMs: durationMs(parsed.options.get("duration") ?? "120s", "--duration"),
    graceMs: durationMs(parsed.options.get("grace") ?? "30s", "--grace"),
    template,
  });
  if (parsed.flags.has("json")) {
    io.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    const cell = (v: number | null) => (v === null ? "—" : String(v));
    io.stdout.write(
      formatTable(
        [
          { header: "SIDE" },
          { header: "ARRIVED", align: "right" },
          { header: "P50 MS", align: "right" },
          { header: "P95 MS", align: "right" },
          { header: "P99 MS", align: "right" },
          { header: "MAX MS", align: "right" },
        ],
        [summary.left, summary.right].map((s) => [
          s.side,
          `${s.arrived}/${summary.probes}`,
          cell(s.p50Ms),
          cell(s.p95Ms),
          cell(s.p99Ms),
          cell(s.maxMs),
        ]),
      ),
    );
  }
  return summary.left.arrived === summary.probes && summary.right.arrived === summary.probes ? 0 : 1;
}

function printable(report: ValidationReport): string {
  const lines = [
    `left:  ${report.left}`,
    `right: ${report.right}`,
    `compared ${report.compared} documents; ${report.matching} match; accuracy ${report.accuracy.toFixed(2)} %`,
    "",
    formatTable(
      [{ header: "DISCREPANCY" }, { header: "COUNT", align: "right" }],
      Object.entries(report.counts).map(([kind, count]) => [kind, String(count)]),
    ),
  ];
  if (report.topFields.length > 0)
    lines.push(
      formatTable(
        [{ header: "FIELD" }, { header: "DISCREPANCIES", align: "right" }],
        report.topFields.map((f) => [f.field, String(f.count)]),
      ),
    );
  if (report.storedIn) lines.push(`discrepancies written to ${report.storedIn} (runId ${report.runId})`);
  lines.push(`verdict: ${report.verdict}`, "");
  return lines.join("\n");
}

function required(parsed: ParsedArgs, name: string): string {
  const value = parsed.options.get(name);
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

function list(value: string | undefined): string[] {
  return value === undefined
    ? []
    : value
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `1s`, `5m`, `24h`, `7d`. */
function durationMs(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) throw new UsageError(`${option} takes a duration like 500ms, 1s, 5m, 24h or 7d, got '${text}'`);
  return Number(match[1]) * UNITS[match[2]];
}

function percent(text: string): number {
  const match = /^(\d+(?:\.\d+)?)%?$/.exec(text.trim());
  if (!match) throw new UsageError(`--numeric-tolerance takes a percentage like 1%, got '${text}'`);
  return Number(match[1]) / 100;
}

function positiveNumber(text: string, option: string): number {
  const value = Number(text);
  if (!(value > 0) || !Number.isFinite(value))
    throw new UsageError(`${option} takes a positive number, got '${text}'`);
  return value;
}

function positiveInt(text: string, option: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${option} takes a positive whole number, got '${text}'`);
  return n;
}

/**
 * Whole-process benchmark: `cat events.jsonl | sp process p.json --connections c.json` (a File connection
 * reading stdin; `$match`, `$addFields`, `$project`; output on stdout) against a baseline process that
 * reads the same lines with `readline` and writes `JSON.stringify(JSON.parse(line))` for each (waiting for
 * `drain` when `write()` says so): the floor for JSON in and out in Node. A second baseline joins its
 * output lines into one `write()` per 64 KiB, as Eddy writes a batch, to show what writing costs.
 *
 *   npm run bench:process                                  1,000,000 lines, table
 *   npm run bench:process -- --json --lines 1000000        one JSON object with every figure
 *   npm run bench:process -- --lines 1000000,10000000      memory against input length
 *
 * Each process reads from `cat FILE` through a pipe and writes into a pipe that this process reads to the
 * end (counting lines: every document must come out). Figures per process (bench/child-figures.ts): lines
 * per second from spawn to exit, CPU time, peak RSS. The input is generated once per size into the
 * system's temporary folder (`eddy-bench-events-<lines>.jsonl`, about 144 bytes a line) and kept for the
 * next run; `--rounds N` (default 1) repeats each case, alternating baseline and Eddy, medians reported.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { machineLoad, measureChild, median, medianOf, option, type ChildFigures } from "./child-figures.ts";

const json = process.argv.includes("--json");
const sizes = option("lines", "1000000")
  .split(",")
  .map((n) => Number(n.replaceAll("_", "")));
const rounds = Number(option("rounds", "1"));

const root = join(import.meta.dirname, "..");
const dir = mkdtempSync(join(tmpdir(), "eddy-bench-process-"));

const KINDS = ["click", "view", "buy", "scroll"];
/** Line `i` of the input: nine fields, a nested document and an array, about 144 bytes. */
function event(i: number): string {
  return JSON.stringify({
    _id: i,
    user: "u" + (i % 9973),
    kind: KINDS[i % 4],
    price: (i % 1000) / 10,
    qty: 1 + (i % 7),
    at: "2026-12-06T00:00:00.000Z",
    tags: ["a", "b"],
    device: { os: "linux", v: i % 13 },
  });
}

/** Every line passes the `$match` (as every line passes the baseline), so both write as many lines. */
const PIPELINE = [
  { $source: { connectionName: "stdin" } },
  { $match: { qty: { $gte: 1 }, kind: { $in: KINDS } } },
  { $addFields: { total: { $multiply: ["$price", "$qty"] }, source: "bench" } },
  { $project: { user: 1, kind: 1, total: 1, at: 1, device: 1, source: 1 } },
];

const BASELINE = `
import { createInterface } from "node:readline";
import { once } from "node:events";
const out = process.stdout;
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (!out.write(JSON.stringify(JSON.parse(line)) + "\\n")) await once(out, "drain");
}
`;

const BASELINE_BATCHED = `
import { createInterface } from "node:readline";
import { once } from "node:events";
const out = process.stdout;
let text = "";
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  text += JSON.stringify(JSON.parse(line)) + "\\n";
  if (text.length >= 65536) {
    const ok = out.write(text);
    text = "";
    if (!ok) await once(out, "drain");
  }
}
if (text) out.write(text);
`;

async function inputFile(lines: number): Promise<string> {
  const path = join(tmpdir(), `eddy-bench-events-${lines}.jsonl`);
  if (existsSync(path) && statSync(path).size > lines * 100) return path;
  const partial = `${path}.${process.pid}.partial`;
  const file = await open(partial, "w");
  const batch: string[] = [];
  for (let i = 0; i < lines; i++) {
    batch.push(event(i));
    if (batch.length === 10_000 || i === lines - 1) {
      await file.write(batch.join("\n") + "\n");
      batch.length = 0;
    }
  }
  await file.close();
  renameSync(partial, path);
  return path;
}

/** `cat file | node args…`, the node process measured. */
async function piped(file: string, args: readonly string[]): Promise<ChildFigures> {
  const cat = spawn("cat", [file], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    return await measureChild(process.execPath, args, { stdin: cat.stdout });
  } finally {
    cat.kill();
  }
}

interface Case {
  readonly eventsPerSec: number;
  readonly wallSec: number;
  readonly cpuSec: number | undefined;
  readonly peakRssMiB: number | undefined;
  readonly outputLines: number;
}

function summarize(lines: number, runs: readonly ChildFigures[]): Case {
  const wallSec = median(runs.map((r) => r.wallMs)) / 1000;
  const cpu = medianOf(runs.map((r) => r.cpuMs));
  const rss = medianOf(runs.map((r) => r.peakRssMiB));
  return {
    eventsPerSec: Math.round(lines / wallSec),
    wallSec: round(wallSec, 2),
    cpuSec: cpu === undefined ? undefined : round(cpu / 1000, 2),
    peakRssMiB: rss === undefined ? undefined : round(rss, 1),
    outputLines: runs[0].stdoutLines,
  };
}

async function measure(lines: number) {
  const file = await inputFile(lines);
  const baselineScript = join(dir, "baseline.mjs");
  const batchedScript = join(dir, "baseline-batched.mjs");
  writeFileSync(baselineScript, BASELINE);
  writeFileSync(batchedScript, BASELINE_BATCHED);
  const definition = join(dir, "p.json");
  const connections = join(dir, "c.json");
  writeFileSync(definition, JSON.stringify({ name: "benchProcess", pipeline: PIPELINE }));
  writeFileSync(connections, JSON.stringify([{ name: "stdin", type: "File", config: { path: "-" } }]));
  const runs = { baseline: [] as ChildFigures[], batched: [] as ChildFigures[], eddy: [] as ChildFigures[] };
  for (let round = 0; round < rounds; round++) {
    runs.baseline.push(await piped(file, [baselineScript]));
    runs.eddy.push(
      await piped(file, [join(root, "bin", "sp.js"), "process", definition, "--connections", connections]),
    );
    runs.batched.push(await piped(file, [batchedScript]));
  }
  for (const [name, list] of Object.entries(runs)) {
    for (const run of list) {
      if (run.exitCode !== 0 || run.stdoutLines !== lines) {
        throw new Error(
          `${name}: exit ${run.exitCode}, ${run.stdoutLines} lines out of ${lines}: ${run.stderr}`,
        );
      }
    }
  }
  const baseline = summarize(lines, runs.baseline);
  const batched = summarize(lines, runs.batched);
  const eddy = summarize(lines, runs.eddy);
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : round(a / b, 3);
  return {
    lines,
    inputBytes: statSync(file).size,
    baseline,
    baselineBatchedWrites: batched,
    eddy,
    throughputRatio: ratio(eddy.eventsPerSec, baseline.eventsPerSec),
    cpuRatio: ratio(baseline.cpuSec, eddy.cpuSec),
    rssRatio: ratio(eddy.peakRssMiB, baseline.peakRssMiB),
    vsBatchedWrites: {
      throughputRatio: ratio(eddy.eventsPerSec, batched.eventsPerSec),
      rssRatio: ratio(eddy.peakRssMiB, batched.peakRssMiB),
    },
  };
}

try {
  const load = machineLoad();
  const results = [];
  for (const lines of sizes) results.push(await measure(lines));
  const result = { node: process.version, rounds, machine: { before: load, after: machineLoad() }, results };
  if (json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(
      `sp process, stdin → $match/$addFields/$project → stdout, Node ${process.version}, ${rounds} round(s), ` +
        `load ${load.loadAverage.join(" ")} → ${result.machine.after.loadAverage.join(" ")} on ${load.cpus} CPUs`,
    );
    console.log("lines        process             events/s   wall s   cpu s   peak RSS");
    for (const r of results) {
      const row = (name: string, c: Case) =>
        console.log(
          `${r.lines.toLocaleString("en-US").padEnd(12)} ${name.padEnd(18)} ${c.eventsPerSec
            .toLocaleString("en-US")
            .padStart(9)} ${String(c.wallSec).padStart(8)} ${String(c.cpuSec ?? "-").padStart(7)} ` +
            `${String(c.peakRssMiB ?? "-").padStart(7)} MiB`,
        );
      row("baseline", r.baseline);
      row("baseline, batched", r.baselineBatchedWrites);
      row("sp process", r.eddy);
      console.log(
        `${"".padEnd(12)} sp / baseline: throughput ${r.throughputRatio}, CPU ${r.cpuRatio} (baseline's CPU / sp's), ` +
          `peak RSS ${r.rssRatio}; against batched writes: throughput ${r.vsBatchedWrites.throughputRatio}, ` +
          `RSS ${r.vsBatchedWrites.rssRatio}`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

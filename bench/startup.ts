/**
 * Start-up benchmark: `sp process p.json --connections c.json` on a one-line JSON Lines input (a File
 * connection reading stdin, one `$addFields`), as a whole process, against a bare `node -e ''` (the floor
 * for any Node program), both with this Node, alternating, in the same run.
 *
 *   npm run bench:startup                       table
 *   npm run bench:startup -- --json             one JSON object with every figure
 *   npm run bench:startup -- --runs 30 --warmup 3
 *
 * Per run: spawn to the first byte of output, spawn to exit, CPU time and peak RSS of the process
 * (bench/child-figures.ts). Medians over `--runs` (default 20) after `--warmup` runs of each (default 3;
 * they also fill V8's compile cache, as any earlier `sp` run does). `sp` is started as a user starts it,
 * `node bin/sp.js`: it runs dist/ when that is current (`npm run build`), else the sources; which one ran
 * is reported.
 */
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { machineLoad, measureChild, median, medianOf, option, type ChildFigures } from "./child-figures.ts";

const json = process.argv.includes("--json");
const runs = Number(option("runs", "20"));
const warmup = Number(option("warmup", "3"));

const root = join(import.meta.dirname, "..");
const dir = mkdtempSync(join(tmpdir(), "eddy-bench-startup-"));
const input = join(dir, "one.jsonl");
const definition = join(dir, "p.json");
const connections = join(dir, "c.json");
writeFileSync(input, JSON.stringify({ _id: 1, user: "u1", price: 2.5, qty: 3 }) + "\n");
writeFileSync(
  definition,
  JSON.stringify({
    name: "startup",
    pipeline: [
      { $source: { connectionName: "stdin" } },
      { $addFields: { total: { $multiply: ["$price", "$qty"] } } },
    ],
  }),
);
writeFileSync(connections, JSON.stringify([{ name: "stdin", type: "File", config: { path: "-" } }]));

async function sp(): Promise<ChildFigures> {
  const stdin = openSync(input, "r");
  try {
    const figures = await measureChild(
      process.execPath,
      [join(root, "bin", "sp.js"), "process", definition, "--connections", connections],
      { stdin },
    );
    if (figures.exitCode !== 0 || figures.stdoutLines !== 1) {
      throw new Error(`sp process failed (exit ${figures.exitCode}): ${figures.stderr}`);
    }
    return figures;
  } finally {
    closeSync(stdin);
  }
}

const bare = (): Promise<ChildFigures> => measureChild(process.execPath, ["-e", ""]);

/** Which copy `bin/sp.js` runs: dist/ unless a source is newer than its build (in a git checkout). */
function runsFrom(): "dist" | "sources" {
  const stamp = join(root, "dist", ".built");
  if (!existsSync(stamp)) return "sources";
  if (!existsSync(join(root, ".git"))) return "dist";
  const builtAt = statSync(stamp).mtimeMs;
  const entries = readdirSync(join(root, "src"), { withFileTypes: true, recursive: true });
  const newer = entries.some(
    (entry) => !entry.isDirectory() && statSync(join(entry.parentPath, entry.name)).mtimeMs > builtAt,
  );
  return newer ? "sources" : "dist";
}

try {
  const copy = runsFrom();
  for (let i = 0; i < warmup; i++) await sp();
  for (let i = 0; i < warmup; i++) await bare();
  const spRuns: ChildFigures[] = [];
  const bareRuns: ChildFigures[] = [];
  for (let i = 0; i < runs; i++) {
    spRuns.push(await sp());
    bareRuns.push(await bare());
  }
  const summary = (list: ChildFigures[]) => ({
    firstOutputMs: round(median(list.map((r) => r.firstOutputMs))),
    exitMs: round(median(list.map((r) => r.wallMs))),
    cpuMs: roundOrUndefined(medianOf(list.map((r) => r.cpuMs))),
    peakRssMiB: roundOrUndefined(medianOf(list.map((r) => r.peakRssMiB))),
    minFirstOutputMs: round(Math.min(...list.map((r) => r.firstOutputMs))),
    maxFirstOutputMs: round(Math.max(...list.map((r) => r.firstOutputMs))),
  });
  const spFigures = summary(spRuns);
  const bareFigures = summary(bareRuns);
  // Ratios pair by pair (run i of each), so a drift in the machine's speed cancels out.
  const pairRatio = (a: (r: ChildFigures) => number | undefined) =>
    round(
      median(
        spRuns
          .map((r, i) => [a(r), a(bareRuns[i])] as const)
          .filter((p): p is readonly [number, number] => p[0] !== undefined && p[1] !== undefined && p[1] > 0)
          .map(([x, y]) => x / y),
      ),
    );
  const result = {
    node: process.version,
    runsFrom: copy,
    runs,
    warmup,
    machine: machineLoad(),
    sp: spFigures,
    nodeBare: bareFigures,
    ratio: {
      firstOutputVsBareExit: pairRatio((r) => r.firstOutputMs),
      cpu: spRuns[0].cpuMs === undefined ? undefined : pairRatio((r) => r.cpuMs),
    },
    overBareMs: round(spFigures.firstOutputMs - bareFigures.exitMs),
  };
  if (json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(
      `sp process on one line (${copy}), ${runs} runs after ${warmup} warm-up, Node ${process.version}, ` +
        `load ${result.machine.loadAverage.join(" ")} on ${result.machine.cpus} CPUs`,
    );
    console.log("                      first output    exit     cpu   peak RSS");
    const row = (name: string, f: typeof spFigures) =>
      console.log(
        `${name.padEnd(20)} ${String(f.firstOutputMs).padStart(9)} ms ${String(f.exitMs).padStart(6)} ms ` +
          `${String(f.cpuMs ?? "-").padStart(5)} ms ${String(f.peakRssMiB ?? "-").padStart(6)} MiB`,
      );
    row("sp process", spFigures);
    row("node -e ''", bareFigures);
    console.log(
      `sp's first output / node's exit: ${result.ratio.firstOutputVsBareExit}× (median of pairs); ` +
        `CPU ${result.ratio.cpu ?? "-"}×; ${result.overBareMs} ms over a bare Node`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function roundOrUndefined(n: number | undefined): number | undefined {
  return n === undefined ? undefined : round(n);
}

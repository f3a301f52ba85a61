/**
 * Runs a command as a child process and measures it from outside, as a user meets it: wall time to its first
 * byte of output and to its exit, its CPU time and its peak resident memory (RSS). CPU and peak RSS come from
 * `/usr/bin/time` when the machine has it (the kernel's own accounting of the finished process), else from
 * polling `/proc/<pid>` (Linux) every 20 ms, which can miss the last moments of a short process.
 * Shared by bench/startup.ts and bench/process.ts.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";

export interface ChildFigures {
  /** Spawn to the first byte on stdout (the exit when nothing was written). */
  readonly firstOutputMs: number;
  /** Spawn to exit. */
  readonly wallMs: number;
  /** User + system CPU time of the process; undefined when neither source could measure it. */
  readonly cpuMs: number | undefined;
  /** Peak resident set size (VmHWM / ru_maxrss). */
  readonly peakRssMiB: number | undefined;
  readonly exitCode: number | null;
  readonly stdoutBytes: number;
  /** Newlines on stdout. */
  readonly stdoutLines: number;
  readonly stderr: string;
}

const TIME = "/usr/bin/time";
const hasTime = existsSync(TIME);
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/**
 * Runs `command args…` with `stdin` (a file descriptor, a stream that has one, or "ignore") and reads its
 * stdout to the end, counting bytes and lines.
 */
export function measureChild(
  command: string,
  args: readonly string[],
  options: { stdin?: Readable | number | "ignore"; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildFigures> {
  const dir = hasTime ? mkdtempSync(join(tmpdir(), "eddy-bench-time-")) : undefined;
  const timeFile = dir ? join(dir, "time") : undefined;
  const argv = timeFile ? ["-f", "%e %U %S %M", "-o", timeFile, command, ...args] : [...args];
  const started = performance.now();
  const child = spawn(timeFile ? TIME : command, argv, {
    stdio: [options.stdin ?? "ignore", "pipe", "pipe"],
    env: options.env ?? process.env,
  });
  const { stdout, stderr: errors } = child;
  if (!stdout || !errors) throw new Error("the child's stdout and stderr are pipes");
  let firstOutputMs: number | undefined;
  let stdoutBytes = 0;
  let stdoutLines = 0;
  let stderr = "";
  stdout.on("data", (chunk: Buffer) => {
    firstOutputMs ??= performance.now() - started;
    stdoutBytes += chunk.length;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) stdoutLines++;
  });
  errors.on("data", (chunk: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += chunk.toString();
  });
  // Without /usr/bin/time the child is the command itself: its /proc entry is read while it runs.
  let polled: { cpuMs: number; peakRssMiB: number } | undefined;
  const poll = timeFile
    ? undefined
    : setInterval(() => {
        polled = readProc(child.pid) ?? polled;
      }, 20);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (exitCode) => {
      const wallMs = performance.now() - started;
      if (poll) clearInterval(poll);
      let cpuMs = polled?.cpuMs;
      let peakRssMiB = polled?.peakRssMiB;
      if (timeFile && dir) {
        // "%e %U %S %M": the last line (a killed command adds a line before it).
        const fields = readFileSync(timeFile, "utf8").trim().split("\n").pop()?.split(" ").map(Number) ?? [];
        rmSync(dir, { recursive: true, force: true });
        if (fields.length === 4 && fields.every(Number.isFinite)) {
          cpuMs = (fields[1] + fields[2]) * 1000;
          peakRssMiB = fields[3] / 1024;
        }
      }
      resolve({
        firstOutputMs: firstOutputMs ?? wallMs,
        wallMs,
        cpuMs,
        peakRssMiB,
        exitCode,
        stdoutBytes,
        stdoutLines,
        stderr,
      });
    });
  });
}

function readProc(pid: number | undefined): { cpuMs: number; peakRssMiB: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    // Fields after the command name (which is in parentheses and may hold spaces): utime is the 12th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (!hwm) return undefined;
    return { cpuMs: (ticks * 1000) / TICKS_PER_SECOND, peakRssMiB: Number(hwm[1]) / 1024 };
  } catch {
    return undefined;
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The median of the defined values, or undefined when there are none. */
export function medianOf(values: readonly (number | undefined)[]): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length > 0 ? median(defined) : undefined;
}

/** `--name value` from argv, or `fallback`. */
export function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** Load average and CPU count, printed with the figures (the machines these run on are shared). */
export function machineLoad(): { loadAverage: readonly number[]; cpus: number } {
  const text = existsSync("/proc/loadavg") ? readFileSync("/proc/loadavg", "utf8") : "";
  const loadAverage = text.split(" ").slice(0, 3).map(Number);
  return { loadAverage, cpus: navigator.hardwareConcurrency };
}

// What the chaos tests share: `sp process` children killed with SIGKILL at seeded points of their
// progress, restarted each time, with the recovery time (kill → first new output) of each restart.
import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { seededRandom } from "../../src/connectors/sample/solar.ts";

const ROOT = resolve(import.meta.dirname, "../..");

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `sp process` arguments of one chaos run: checkpoints in `checkpointDir`, final stats on stderr. */
export function processArgs(
  definition: string,
  connections: string,
  checkpointDir: string,
  checkpointIntervalMs: number,
): string[] {
  return [
    definition,
    "--connections",
    connections,
    "--checkpoint-dir",
    checkpointDir,
    "--checkpoint-interval",
    String(checkpointIntervalMs),
    "--stats",
  ];
}

/** `kills` kill points as fractions of the expected output, sorted, spread over 10 %–90 % (deterministic). */
export function killPoints(seed: number, kills: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: kills }, () => 0.1 + random() * 0.8).sort((a, b) => a - b);
}

/** Every child started, so a failing test leaves none behind (`killAll` in afterAll). */
const children = new Set<SpChild>();

export function killAll(): void {
  for (const child of children) child.kill();
}

/** One `sp process` child; stderr is kept for the failure message. */
export class SpChild {
  readonly process: ChildProcess;
  stderr = "";
  readonly exited: Promise<number | null>;
  constructor(args: string[]) {
    this.process = spawn("node", [join(ROOT, "bin/sp.js"), "process", ...args], {
      env: process.env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.process.stderr!.on("data", (chunk) => (this.stderr += String(chunk)));
    this.exited = new Promise((resolve) => this.process.once("exit", (code) => resolve(code)));
    children.add(this);
    void this.exited.then(() => children.delete(this));
  }
  kill(): void {
    this.process.kill("SIGKILL");
  }
  async stop(): Promise<number | null> {
    this.process.kill("SIGTERM");
    return this.exited;
  }
}

export interface ChaosReport {
  kills: number;
  recoveryMs: number[];
}

/**
 * Kills the running child at each point (a fraction of `expected` reached in `progress`), restarts it, and
 * measures kill → first output written by the new child (`writtenSince` the kill).
 */
export async function runWithKills(options: {
  child: SpChild;
  args: string[];
  points: number[];
  expected: number;
  progress: () => Promise<number>;
  writtenSince: (at: Date) => Promise<boolean>;
}): Promise<ChaosReport & { child: SpChild }> {
  const report: ChaosReport = { kills: 0, recoveryMs: [] };
  let child = options.child;
  for (const point of options.points) {
    let last = -1;
    let changedAt = Date.now();
    for (;;) {
      const progress = await options.progress();
      if (progress >= point * options.expected) break;
      if (child.process.exitCode !== null) throw new Error(`sp process exited early:\n${child.stderr}`);
      if (progress !== last) [last, changedAt] = [progress, Date.now()];
      else if (Date.now() - changedAt > 30_000)
        throw new Error(`no progress for 30 s at ${progress} of ${options.expected}:\n${child.stderr}`);
      await sleep(20);
    }
    child.kill();
    await child.exited;
    const killedAt = new Date();
    report.kills++;
    child = new SpChild(options.args);
    while (!(await options.writtenSince(killedAt))) {
      if (child.process.exitCode !== null)
        throw new Error(`sp process exited after a restart:\n${child.stderr}`);
      if (Date.now() - killedAt.getTime() > 60_000)
        throw new Error(`nothing written within 60 s of a restart:\n${child.stderr}`);
      await sleep(20);
    }
    report.recoveryMs.push(Date.now() - killedAt.getTime());
  }
  return { ...report, child };
}

/** Prints kills, recovery times and the final checkpoint (from the last child's `--stats` line). */
export function report(name: string, run: ChaosReport, stderr: string): void {
  const statsLine = stderr.trim().split("\n").at(-1) ?? "{}";
  const { lastCheckpoint } = JSON.parse(statsLine) as { lastCheckpoint?: unknown };
  console.log(
    `[chaos] ${name}: ${run.kills} kills; recovery (kill → first new output) ms: ${run.recoveryMs.join(", ")}; ` +
      `final checkpoint: ${JSON.stringify(lastCheckpoint)}`,
  );
}

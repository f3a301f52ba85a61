// Eddy itself, driven the way a user drives it: `sp serve` as a child process, and the `sp` CLI for
// deploying the workspace folder, starting processors and reading their stats.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { join, resolve } from "node:path";

const REPOSITORY = resolve(import.meta.dirname, "../../..");
const SP = join(REPOSITORY, "bin", "sp.js");

export interface SpResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface EddyServer {
  readonly url: string;
  readonly dataDir: string;
  /** Runs `sp ARGS --server URL --data-dir DIR`. */
  sp(args: readonly string[]): Promise<SpResult>;
  /** Like `sp`, but throws with the CLI's message unless it exits 0. */
  spOk(args: readonly string[]): Promise<string>;
  readonly logs: readonly string[];
  stop(): Promise<void>;
}

/** Starts `sp serve` on a free loopback port with its state in `dataDir`; `env` resolves the `{{VAR}}`s. */
export async function startEddy(dataDir: string, env: NodeJS.ProcessEnv): Promise<EddyServer> {
  const child = spawn(process.execPath, [SP, "serve", "--port", "0", "--data-dir", dataDir], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: string[] = [];
  createInterface({ input: child.stderr }).on("line", (line) => logs.push(line));
  const firstLine = await new Promise<string>((done, fail) => {
    createInterface({ input: child.stdout }).once("line", done);
    child.once("exit", (code) =>
      fail(new Error(`sp serve exited with ${code}: ${logs.slice(-20).join("\n")}`)),
    );
  });
  const { url } = JSON.parse(firstLine) as { url: string };
  const sp = (args: readonly string[]) => run([...args, "--server", url, "--data-dir", dataDir], env);
  return {
    url,
    dataDir,
    logs,
    sp,
    async spOk(args) {
      const result = await sp(args);
      if (result.code !== 0)
        throw new Error(`sp ${args.join(" ")} failed (exit ${result.code}): ${result.stderr.trim()}`);
      return result.stdout;
    },
    stop: () => stopChild(child),
  };
}

function run(args: readonly string[], env: NodeJS.ProcessEnv): Promise<SpResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [SP, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.once("error", fail);
    child.once("close", (code) =>
      done({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    );
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.once("exit", () => {
      clearTimeout(kill);
      done();
    });
    child.kill("SIGTERM");
  });
}

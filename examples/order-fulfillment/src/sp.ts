// Eddy itself, driven the way a user drives it: `sp serve` as a child process, and the `sp` CLI for
// deploying the workspace folder, starting processors and reading their stats (its main() called in this
// process with captured output: the same code path as the command, without a Node start-up per call).
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { join, resolve } from "node:path";
import { Readable, Writable } from "node:stream";
import { main } from "../../../src/cli/main.ts";

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

/** The `{{VAR}}`s of connections/connections.json: sp serve resolves only the variables it is told to. */
const CONNECTION_VARIABLES = [
  "MONGODB_URI",
  "ORDER_SERVICE_URL",
  "KAFKA_BOOTSTRAP_SERVERS",
  "KAFKA_USERNAME",
  "KAFKA_PASSWORD",
];

/** Starts `sp serve` on a free loopback port with its state in `dataDir`; `env` resolves the `{{VAR}}`s. */
export async function startEddy(dataDir: string, env: NodeJS.ProcessEnv): Promise<EddyServer> {
  const allowEnv = CONNECTION_VARIABLES.flatMap((name) => ["--allow-env", name]);
  const child = spawn(
    process.execPath,
    [SP, "serve", "--port", "0", "--wire-port", "0", "--data-dir", dataDir, ...allowEnv],
    {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const logs: string[] = [];
  createInterface({ input: child.stderr }).on("line", (line) => logs.push(line));
  const firstLine = await new Promise<string>((done, fail) => {
    createInterface({ input: child.stdout }).once("line", done);
    child.once("exit", (code) =>
      fail(new Error(`sp serve exited with ${code}: ${logs.slice(-20).join("\n")}`)),
    );
  });
  const { url } = JSON.parse(firstLine) as { url: string };
  const sp = (args: readonly string[]) => run([...args, "--server", url, "--data-dir", dataDir]);
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

async function run(args: readonly string[]): Promise<SpResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main([...args], { stdout, stderr, stdin: Readable.from([]) });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

class Capture extends Writable {
  private readonly chunks: Buffer[] = [];

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.chunks.push(Buffer.from(chunk));
    done();
  }

  text(): string {
    return Buffer.concat(this.chunks).toString();
  }
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

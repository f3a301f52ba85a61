// Runs `sp serve` as a real child process for end-to-end tests and waits for its one-line JSON start report.
import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

const SP = join(resolve(import.meta.dirname, "../.."), "bin/sp.js");

export interface ServeProcess {
  readonly child: ChildProcess;
  /** The start report: `url`, `dataDir`, `stateStore`, `tokenFile`… */
  readonly started: { url: string; wireUrl?: string; dataDir: string; tokenFile?: string };
  readonly url: string;
  /** Every stderr line (JSON log lines) so far. */
  readonly logs: string[];
}

/** Spawns `sp serve <args>` in `cwd`; resolves once it listens, rejects (with its logs) if it exits first. */
export async function spawnServe(
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; children?: ChildProcess[] },
): Promise<ServeProcess> {
  // Tests run side by side: a free wire-protocol port unless the test picks one.
  const wire = args.includes("--wire-port") ? [] : ["--wire-port", "0"];
  const child = spawn(process.execPath, [SP, "serve", ...wire, ...args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  options.children?.push(child);
  const logs: string[] = [];
  createInterface({ input: child.stderr! }).on("line", (line) => logs.push(line));
  const firstLine = await new Promise<string>((done, fail) => {
    createInterface({ input: child.stdout! }).once("line", done);
    child.once("exit", (code) => fail(new Error(`sp serve exited with ${code}: ${logs.join("\n")}`)));
  });
  const started = JSON.parse(firstLine) as ServeProcess["started"];
  return { child, started, url: started.url, logs };
}

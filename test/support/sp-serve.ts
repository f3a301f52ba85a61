// Runs `sp serve` as a real child process for end-to-end tests and waits for its one-line JSON start report.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
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

/** One `sp serve` of several sharing a MongoDB state store (HA and scale-out tests). */
export interface SharedServe {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
  readonly logs: string[];
  /** Calls the API of workspace `default` with the token: `path` is below `/api/v1/workspaces/default`. */
  call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
}

/** Spawns `sp serve` with its own data dir on the MongoDB state store `stateUri`, leases of `leaseTtlMs`. */
export async function serveSharedStore(
  name: string,
  options: {
    readonly stateUri: string;
    readonly token: string;
    readonly leaseTtlMs: number;
    /** Default: the server's (5 s). */
    readonly checkpointIntervalMs?: number;
    readonly children: ChildProcess[];
  },
): Promise<SharedServe> {
  const dataDir = await mkdtemp(join(tmpdir(), `eddy-serve-${name}-`));
  const { child, url, logs } = await spawnServe(
    [
      ...["--port", "0", "--data-dir", dataDir, "--token", options.token, "--state-uri", options.stateUri],
      ...["--lease-ttl", String(options.leaseTtlMs)],
      ...(options.checkpointIntervalMs === undefined
        ? []
        : ["--checkpoint-interval", String(options.checkpointIntervalMs)]),
    ],
    { cwd: dataDir, children: options.children },
  );
  const call: SharedServe["call"] = async (method, path, body) => {
    const res = await fetch(`${url}/api/v1/workspaces/default${path}`, {
      method,
      headers: { Authorization: `Bearer ${options.token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { name, child, url, logs, call };
}

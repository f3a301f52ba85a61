// Starts a Java server as a child that cannot outlive this process: it runs under ParentWatch
// (java/ParentWatch.java), which exits the JVM when our end of its stdin pipe closes.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { cacheDir, timeouts } from "./config.ts";
import { waitUntil, type WaitOptions } from "./wait.ts";

const runDirPrefix = "eddy-service-";

/**
 * JVM flags for application class-data sharing: the first run dumps the classes it loaded into an
 * archive when it exits, later runs map that archive. On this 2-CPU machine kind under load, this
 * cuts the Kafka broker's start from ~45 s to ~14 s and the storage formatter's from ~12 s to ~3 s.
 * A stale or unreadable archive is ignored by the JVM (-Xshare:auto), never fatal.
 */
export function classDataSharingArgs(
  name: string,
  classpath: string[],
): { args: string[]; dumping: boolean } {
  const key = createHash("sha256").update(classpath.join(delimiter)).digest("hex").slice(0, 16);
  const archive = join(cacheDir, `${name}-${key}.jsa`);
  return existsSync(archive)
    ? { args: [`-XX:SharedArchiveFile=${archive}`, "-Xshare:auto"], dumping: false }
    : { args: [`-XX:ArchiveClassesAtExit=${archive}`], dumping: true };
}

/** Writing a class-data archive at exit can take a while on a busy machine. */
const dumpingStopMs = 120_000;

/**
 * A fresh temporary directory for one server's data and log, marked with our pid so that a later
 * run can delete it if this process dies before cleaning up (SIGKILL skips every handler).
 */
export async function makeRunDir(name: string): Promise<string> {
  await removeStaleRunDirs();
  const dir = await mkdtemp(join(tmpdir(), `${runDirPrefix}${name}-`));
  writeFileSync(join(dir, "owner.pid"), String(process.pid));
  return dir;
}

async function removeStaleRunDirs(): Promise<void> {
  const root = tmpdir();
  for (const entry of await readdir(root)) {
    if (!entry.startsWith(runDirPrefix)) continue;
    const dir = join(root, entry);
    const owner = Number(await readFile(join(dir, "owner.pid"), "utf8").catch(() => "0"));
    if (owner > 0 && !isAlive(owner)) await rm(dir, { recursive: true, force: true });
  }
}

/** Whether process `pid` exists (EPERM means it does, owned by someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface JavaServerOptions {
  name: string;
  /** From makeRunDir: holds the log and any data; deleted on stop. */
  runDir: string;
  classpath: string[];
  jvmArgs: string[];
  mainClass: string;
  args: string[];
}

export interface JavaServer {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Why the process is gone ("exited with code 1"), or undefined while it runs. */
  exitReason(): string | undefined;
  logTail(lines?: number): string;
  /** SIGTERM (the JVM runs its shutdown hooks), SIGKILL after a grace period, then delete runDir. */
  stop(): Promise<void>;
}

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Belt and braces next to ParentWatch: on a normal exit, kill what is still running.
  process.once("exit", () => {
    for (const child of liveChildren) child.kill("SIGKILL");
  });
}

export function startJavaServer(options: JavaServerOptions, parentWatchJar: string): JavaServer {
  installExitHook();
  const logFile = join(options.runDir, `${options.name}.log`);
  const logFd = openSync(logFile, "a");
  const classpath = [parentWatchJar, ...options.classpath];
  const sharing = classDataSharingArgs(options.name, classpath);
  const child = spawn(
    "java",
    [
      ...sharing.args,
      ...options.jvmArgs,
      "-cp",
      classpath.join(delimiter),
      "ParentWatch",
      options.mainClass,
      ...options.args,
    ],
    { cwd: options.runDir, stdio: ["pipe", logFd, logFd] },
  );
  closeSync(logFd);
  if (child.pid === undefined) throw new Error(`cannot start java for ${options.name}`);
  liveChildren.add(child);
  let exitReason: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exitReason = signal ? `killed by ${signal}` : `exited with code ${code}`;
      liveChildren.delete(child);
      resolve();
    });
    child.once("error", (error) => {
      exitReason = `could not run java: ${error.message}`;
      liveChildren.delete(child);
      resolve();
    });
  });
  const pid = child.pid;

  return {
    name: options.name,
    pid,
    logFile,
    exitReason: () => exitReason,
    logTail: (lines = 40) => tail(logFile, lines),
    async stop() {
      if (exitReason === undefined) {
        child.kill("SIGTERM");
        const grace = new AbortController();
        const graceful = await Promise.race([
          exited.then(() => true),
          sleep(sharing.dumping ? dumpingStopMs : timeouts.stopMs, false, { signal: grace.signal }).catch(
            () => true,
          ),
        ]);
        grace.abort();
        if (!graceful) {
          child.kill("SIGKILL");
          await exited;
        }
      }
      child.stdin?.destroy();
      await rm(options.runDir, { recursive: true, force: true });
    },
  };
}

function tail(file: string, lines: number): string {
  try {
    const text = readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    return `--- last lines of ${file} ---\n${text}`;
  } catch {
    return `(no log at ${file})`;
  }
}

/** Waits until `server` answers; if it never does, stops it (so no process is left behind) and rethrows. */
export async function readyOrStop(
  server: JavaServer,
  ready: () => Promise<boolean>,
  options: Omit<WaitOptions, "abortReason" | "diagnostics">,
): Promise<JavaServer> {
  try {
    await waitUntil(ready, {
      ...options,
      abortReason: () => server.exitReason(),
      diagnostics: () => server.logTail(),
    });
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

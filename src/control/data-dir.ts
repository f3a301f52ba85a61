/**
 * The server's data directory: created (or tightened) to mode 0700, since it holds the API token and
 * connection secrets, and — when the state lives in it (the file store) — locked by one server at a time.
 * Two servers on one file store would both run every processor. The lock is `<dir>/server.lock` holding the
 * owner's pid and host; a lock whose process no longer runs on this host is stale and taken over.
 * (A shared MongoDB/Redis state store needs no lock: leases decide which server runs a processor.)
 */
import { chmod, mkdir, open, readFile, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";

export const LOCK_FILE = "server.lock";

export interface DataDirLock {
  /** Removes the lock file (only while it is still ours). */
  release(): Promise<void>;
}

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
}

export class DataDirLockedError extends Error {
  override readonly name = "DataDirLockedError";
}

/** Creates `dir` with mode 0700 (an existing one is tightened to 0700). */
export async function prepareDataDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** Takes the exclusive lock on `dir`; throws DataDirLockedError naming the running owner. */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  const file = join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(file, "wx", 0o600);
      try {
        await handle.writeFile(JSON.stringify(me) + "\n");
        await handle.sync();
      } finally {
        await handle.close();
      }
      return { release: () => releaseIfOurs(file, me) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = (await readOwner(file)) ?? (await settle(), await readOwner(file));
    if (owner && isRunning(owner)) {
      throw new DataDirLockedError(
        `another Eddy server (pid ${owner.pid} on ${owner.host}, started ${owner.startedAt}) is using the data ` +
          `directory ${dir}; stop it first, or give this server its own --data-dir (two servers on one data ` +
          `directory would both run every processor). If no such server runs, delete ${file}`,
      );
    }
    if (attempt >= 3)
      throw new DataDirLockedError(`could not take the lock ${file}; delete it if no server runs`);
    // Stale (its process is gone) or unreadable (a crash while it was written): take it over.
    await unlink(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
  }
}

/** A lock file without an owner yet may be one another server is writing right now: give it a moment. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 200));
}

async function readOwner(file: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(file, "utf8")) as Partial<LockOwner>;
    if (typeof owner.pid !== "number" || typeof owner.host !== "string") return undefined;
    return { pid: owner.pid, host: owner.host, startedAt: String(owner.startedAt) };
  } catch {
    return undefined;
  }
}

/** Whether the lock's owner still runs; a lock from another host is assumed live (its pid cannot be checked). */
function isRunning(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function releaseIfOurs(file: string, me: LockOwner): Promise<void> {
  const owner = await readOwner(file);
  if (owner?.pid === me.pid && owner.startedAt === me.startedAt) await unlink(file).catch(() => undefined);
}

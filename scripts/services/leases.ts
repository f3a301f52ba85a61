// Several test runs may share one set of servers (two `vitest` runs at once). A run that uses the
// servers holds a lease file named after its pid; the run that started them stops them only when no
// other live lease remains. A lock serialises "probe, start, lease" against "check leases, stop".
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { stateDir } from "./config.ts";
import { isAlive } from "./java-server.ts";

const leaseDir = join(stateDir, "leases");
const lockDir = join(stateDir, "lock");

export async function withLock<T>(timeoutMs: number, body: () => Promise<T>): Promise<T> {
  await mkdir(stateDir, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      await mkdir(lockDir);
      await writeFile(join(lockDir, "pid"), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(await readFile(join(lockDir, "pid"), "utf8").catch(() => "0"));
      if (holder > 0 && !isAlive(holder)) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() >= deadline) {
        throw new Error(`another test run (pid ${holder}) holds ${lockDir}; delete it if that run is gone`, {
          cause: error,
        });
      }
      await sleep(250);
    }
  }
  try {
    return await body();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

export async function takeLease(): Promise<void> {
  await mkdir(leaseDir, { recursive: true });
  await writeFile(join(leaseDir, String(process.pid)), "");
}

export async function dropLease(): Promise<void> {
  await rm(join(leaseDir, String(process.pid)), { force: true });
}

/** Pids of other processes that hold a lease; stale leases of dead processes are removed. */
export async function otherLeaseHolders(): Promise<number[]> {
  if (!existsSync(leaseDir)) return [];
  const holders: number[] = [];
  for (const name of await readdir(leaseDir)) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) holders.push(pid);
    else await rm(join(leaseDir, name), { force: true });
  }
  return holders;
}

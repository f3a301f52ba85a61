#!/usr/bin/env node
// Launcher for the `sp` command. Runs the bundled copy in dist/ (built by `npm install`: scripts/build.ts)
// while it is current, else the TypeScript sources directly (Node 24 strips types, at a cost at every start). Started by an older Node (`sp` on the PATH through
// `npm link` or `npm install -g`, run by the system's node), it runs itself again with the Node 24 that the
// package pins (node_modules/node), or says how to get one. This file must parse on old Node versions.
import { existsSync, statSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import nodeModule from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REQUIRED_MAJOR = 24;
const major = Number(process.versions.node.split(".")[0]);

if (major < REQUIRED_MAJOR) {
  const pinned = fileURLToPath(new URL("../node_modules/node/bin/node", import.meta.url));
  if (process.env.EDDY_NODE_REEXEC === undefined && existsSync(pinned)) {
    const { spawn } = await import("node:child_process");
    const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: "inherit",
      env: { ...process.env, EDDY_NODE_REEXEC: "1" },
    });
    // Ctrl-C reaches the child too (same process group): this process only waits for its exit.
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => {});
    child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? 130 : 1)));
  } else {
    process.stderr.write(
      `Eddy needs Node ${REQUIRED_MAJOR} or later; this is Node ${process.versions.node}.\n` +
        `Install Node ${REQUIRED_MAJOR} (https://nodejs.org, or \`nvm install ${REQUIRED_MAJOR}\`), or run sp from ` +
        `its clone after \`npm install\` there, which brings the pinned Node ${REQUIRED_MAJOR} (then \`npm link\`).\n`,
    );
    process.exitCode = 1;
  }
} else {
  enableCompileCache();
  const source = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
  const { main, tuneProcess } = await loadMain(source);
  tuneProcess?.(process.argv.slice(2));
  process.exitCode = await main(process.argv.slice(2));
}

/**
 * The compiled entry when dist/ was built completely and, in a git checkout (where sources change), no file
 * in src/ is newer than the build: an edited source is never shadowed by an older compiled copy. In a
 * checkout the compiled copy is loaded while the sources' times are read (off the main thread), and set
 * aside if one of them turns out newer.
 */
async function loadMain(source) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const stamp = join(root, "dist", ".built");
  if (!existsSync(stamp)) return import(source);
  const built = import(join(root, "dist", "cli", "main.js"));
  if (!existsSync(join(root, ".git"))) return built;
  // While the sources' times are read, the command's own code loads; both are thrown away if a source is
  // newer (and a failure to load the old copy does not matter then).
  built.then((loaded) => loaded.preload?.(process.argv.slice(2))).catch(() => {});
  const edited = await newerThan(join(root, "src"), statSync(stamp).mtimeMs);
  return edited ? import(source) : built;
}

/** Whether any file under `dir` was modified after `time` (epoch ms). */
async function newerThan(dir, time) {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const files = entries.filter((entry) => !entry.isDirectory());
  const times = await Promise.all(files.map((entry) => stat(join(entry.parentPath, entry.name))));
  return times.some((stats) => stats.mtimeMs > time);
}

/**
 * V8's compile cache: the code's bytecode is kept on disk (Node's default place, os.tmpdir()/node-compile-cache,
 * or NODE_COMPILE_CACHE; keyed by Node version and file contents), so later starts skip compiling it.
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off; a folder that cannot be written only leaves it off.
 */
function enableCompileCache() {
  try {
    nodeModule.enableCompileCache?.();
  } catch {
    // Starting without the cache is only slower.
  }
}

#!/usr/bin/env node
// Launcher for the `sp` command. Runs the compiled copy in dist/ (built by `npm install`: scripts/build.ts)
// while it is current, else the TypeScript sources directly (Node 24 strips types, at a cost at every start). Started by an older Node (`sp` on the PATH through
// `npm link` or `npm install -g`, run by the system's node), it runs itself again with the Node 24 that the
// package pins (node_modules/node), or says how to get one. This file must parse on old Node versions.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REQUIRED_MAJOR = 24;
const major = Number(process.versions.node.split(".")[0]);

if (major < REQUIRED_MAJOR) {
  const pinned = fileURLToPath(new URL("../node_modules/node/bin/node", import.meta.url));
  if (process.env.EDDY_NODE_REEXEC === undefined && existsSync(pinned)) {
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
  const built = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
  const entry = builtIsCurrent() ? built : fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
  const { main } = await import(entry);
  process.exitCode = await main(process.argv.slice(2));
}

/**
 * dist/ is current when it was built completely and, in a git checkout (where sources change), no file in
 * src/ is newer than the build: an edited source is never shadowed by an older compiled copy.
 */
function builtIsCurrent() {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const stamp = join(root, "dist", ".built");
  if (!existsSync(stamp)) return false;
  if (!existsSync(join(root, ".git"))) return true;
  const builtAt = statSync(stamp).mtimeMs;
  const newer = (dir) =>
    readdirSync(dir, { withFileTypes: true }).some((entry) => {
      const path = join(dir, entry.name);
      return entry.isDirectory() ? newer(path) : statSync(path).mtimeMs > builtAt;
    });
  return !newer(join(root, "src"));
}

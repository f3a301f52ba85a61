// bin/sp.js started by whatever `node` is first on the PATH (as `sp` after `npm link` / `npm install -g`):
// on an older Node it runs again with the pinned Node 24, or says what is needed.
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
// The PATH without the project's node_modules/.bin: the system's node, as a shell would find it.
const PATH = (process.env.PATH ?? "")
  .split(":")
  .filter((dir) => !dir.includes("node_modules"))
  .join(":");
const systemNode = spawnSync("node", ["-p", "process.versions.node"], { env: { PATH }, encoding: "utf8" });
const systemMajor = Number(systemNode.stdout.split(".")[0]);

describe("bin/sp.js launcher", () => {
  it("runs under the node on the PATH, whatever its version", () => {
    const run = spawnSync("node", [join(ROOT, "bin/sp.js"), "--help"], {
      env: { PATH },
      encoding: "utf8",
      cwd: "/",
      timeout: 60_000,
    });
    expect(run.stderr).toBe("");
    expect(run.stdout).toContain("usage: sp <command>");
    expect(run.status).toBe(0);
  });

  it.runIf(systemMajor < 24)("says Eddy needs Node 24 when no pinned Node can run it", () => {
    const run = spawnSync("node", [join(ROOT, "bin/sp.js"), "--help"], {
      env: { PATH, EDDY_NODE_REEXEC: "1" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^Eddy needs Node 24 or later; this is Node 2\d\./);
  });
});

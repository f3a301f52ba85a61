/** Runs `node bin/sp.js` as a real subprocess, as a user would. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EJSON } from "bson";

const ROOT = resolve(import.meta.dirname, "../..");
const env = { ...process.env, PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH ?? ""}` };

export function sp(args: string[], input?: string) {
  const result = spawnSync("node", [join(ROOT, "bin/sp.js"), ...args], {
    env,
    input,
    encoding: "utf8",
    timeout: 20_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function lines(text: string) {
  return text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => EJSON.parse(l, { relaxed: true }) as Record<string, unknown>);
}

export const dir = mkdtempSync(join(tmpdir(), "eddy-cli-"));
export function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

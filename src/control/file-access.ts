/**
 * Which files a File connection may read under `sp serve`: those inside the configured directories
 * (default: the workspace folder), never the server's own data directory (its token and state). Symbolic
 * links are followed before the check, so a link inside an allowed directory cannot point outside it.
 */
import { realpath } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import type { ConnectionCatalog, ConnectionEntry } from "../pipeline/plan.ts";
import { CONNECTORS } from "../connectors/registry.ts";
import { invalid } from "./errors.ts";
import type { EnvAllowList } from "./placeholders.ts";

/** What a pipeline under `sp serve` may read: environment variables through placeholders, and files. */
export interface PipelineAccess {
  readonly env: EnvAllowList;
  readonly files: FileAccessPolicy;
}

export interface FileAccessPolicy {
  /** Directories File connections may read from. */
  readonly roots: readonly string[];
  /** Directories they may never read from, even inside a root. */
  readonly forbidden: readonly string[];
}

/** Throws PATH_NOT_ALLOWED when `path` (relative: to the working directory) is not readable under `policy`. */
export async function checkFileAccess(path: string, policy: FileAccessPolicy, where: string): Promise<void> {
  if (path === "-") return; // the server's stdin
  const target = await canonical(resolve(path));
  const roots = await Promise.all(policy.roots.map((root) => canonical(resolve(root))));
  const forbidden = await Promise.all(policy.forbidden.map((dir) => canonical(resolve(dir))));
  const allowed = roots.join(", ") || "(none)";
  const refuse = (reason: string, message: string) =>
    invalid("PATH_NOT_ALLOWED", { where, path, reason, allowed }, [
      { path: "config.path", message, expected: `a file inside ${roots.join(" or ")}` },
    ]);
  if (forbidden.some((dir) => inside(target, dir))) {
    throw refuse(
      "inside the server's data directory, which pipelines may not read",
      "inside the server's data directory",
    );
  }
  if (!roots.some((root) => inside(target, root))) {
    throw refuse("outside the directories File connections may read", "outside the allowed directories");
  }
}

/** The local file a connection reads (its type's `fileSetting`, e.g. File `path`), if it names one. */
export function localFileOf(entry: ConnectionEntry | undefined): string | undefined {
  const setting = entry && CONNECTORS.find(entry.type)?.fileSetting;
  const path = setting === undefined ? undefined : entry?.config?.[setting];
  return typeof path === "string" ? path : undefined;
}

/** Checks the local file of every connection among `names` in a resolved catalog. */
export async function checkCatalogFileAccess(
  catalog: ConnectionCatalog,
  names: Iterable<string>,
  policy: FileAccessPolicy,
  workspace: string,
): Promise<void> {
  for (const name of names) {
    const path = localFileOf(catalog.get(name));
    if (path !== undefined) {
      await checkFileAccess(path, policy, `connection '${name}' in workspace '${workspace}'`);
    }
  }
}

function inside(target: string, dir: string): boolean {
  const rel = relative(dir, target);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** The real path of `path`, or of its nearest existing ancestor joined with the rest (the file may not exist yet). */
async function canonical(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const parent = dirname(path);
    if (parent === path) return path;
    return resolve(await canonical(parent), relative(parent, path));
  }
}

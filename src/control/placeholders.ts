/**
 * `{{VAR}}` placeholders in workspace files (connections, processors), resolved from the environment,
 * `.env` and `config.txt`, with every resolved value registered for redaction. Under `sp serve` only an
 * allow-list of environment variables resolves (docs/security.md): a pipeline must not read the server's
 * environment through a placeholder.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Redactor } from "./redactor.ts";

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export class MissingVariableError extends Error {
  override readonly name = "MissingVariableError";
  readonly variable: string;
  readonly file: string;
  readonly path: string;

  constructor(variable: string, file: string, path: string, withheld = false) {
    super(
      withheld
        ? `${file}: ${path} uses {{${variable}}}, which is set in the server's environment but not allowed in ` +
            `placeholders; add ${variable}=<value> to .env or config.txt in the server's --env-dir, name it with ` +
            `--allow-env ${variable}, or give it the prefix the server allows (--env-prefix, default ${DEFAULT_ENV_PREFIX})`
        : `${file}: ${path} uses {{${variable}}} but ${variable} is not set; ` +
            `export it, or add ${variable}=<value> to .env or config.txt in the workspace`,
    );
    this.variable = variable;
    this.file = file;
    this.path = path;
  }
}

/** Parses `KEY=VALUE` lines (`.env`/`config.txt`): `#` comments, optional `export`, optional quotes. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2];
    const quoted = /^(["'])(.*)\1$/.exec(value);
    if (quoted) value = quoted[1] === '"' ? quoted[2].replace(/\\n/g, "\n").replace(/\\"/g, '"') : quoted[2];
    else value = value.replace(/\s+#.*$/, "");
    out[match[1]] = value;
  }
  return out;
}

/** Which environment variables placeholders may read (`sp serve`); absent: all of them (`sp process`). */
export interface EnvAllowList {
  /** Variables whose name starts with one of these resolve. */
  readonly prefixes: readonly string[];
  /** And these, by name. */
  readonly names: readonly string[];
}

export const DEFAULT_ENV_PREFIX = "EDDY_";
export const DEFAULT_ENV_ALLOW_LIST: EnvAllowList = { prefixes: [DEFAULT_ENV_PREFIX], names: [] };

/** The server's own secrets: never resolved from the environment, whatever the allow-list says. */
const SERVER_SECRETS = new Set(["EDDY_API_TOKEN", "EDDY_STATE_URI"]);

/** Whether `allow` lets a placeholder read environment variable `name`. */
export function envAllowed(name: string, allow: EnvAllowList | undefined): boolean {
  if (!allow) return true;
  if (SERVER_SECRETS.has(name)) return false;
  return allow.names.includes(name) || allow.prefixes.some((prefix) => name.startsWith(prefix));
}

/**
 * Variables for a workspace folder: `config.txt`, then `.env`, then the process environment (later wins;
 * only the variables `allow` names, when given). Missing files are fine.
 */
export async function loadWorkspaceVariables(
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
  allow?: EnvAllowList,
): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  for (const name of ["config.txt", ".env"]) {
    const text = await readFile(join(dir, name), "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return "";
      throw error;
    });
    Object.assign(vars, parseEnvFile(text));
  }
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && envAllowed(key, allow)) vars[key] = value;
  }
  return vars;
}

/**
 * Replaces every `{{VAR}}` in the strings of `value` (deeply), registering each substituted value with
 * `redactor`. Throws MissingVariableError naming the variable, the file and the JSON path.
 */
export function resolvePlaceholders<T>(
  value: T,
  variables: Readonly<Record<string, string>>,
  options: { file: string; redactor?: Redactor; path?: string; withheld?: (name: string) => boolean },
): T {
  const where = { file: options.file, redactor: options.redactor, withheld: options.withheld };
  return resolve(value, variables, where, options.path ?? "") as T;
}

interface Where {
  readonly file: string;
  readonly redactor: Redactor | undefined;
  /** Whether a missing variable is one the allow-list kept out (for the error message). */
  readonly withheld: ((name: string) => boolean) | undefined;
}

function resolve(
  value: unknown,
  variables: Readonly<Record<string, string>>,
  where: Where,
  path: string,
): unknown {
  if (typeof value === "string") {
    if (!value.includes("{{")) return value;
    return value.replace(PLACEHOLDER, (_match, name: string) => {
      const resolved = variables[name];
      if (resolved === undefined) {
        throw new MissingVariableError(name, where.file, path || "(root)", where.withheld?.(name) ?? false);
      }
      where.redactor?.add(resolved);
      return resolved;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => resolve(item, variables, where, `${path}[${i}]`));
  if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = resolve(item, variables, where, path ? `${path}.${key}` : key);
    }
    return out;
  }
  return value;
}

/** Names of the `{{VAR}}` placeholders used anywhere in `value`. */
export function placeholdersIn(value: unknown): string[] {
  const names = new Set<string>();
  const visit = (v: unknown): void => {
    if (typeof v === "string") for (const m of v.matchAll(PLACEHOLDER)) names.add(m[1]);
    else if (Array.isArray(v)) v.forEach(visit);
    else if (typeof v === "object" && v !== null) Object.values(v).forEach(visit);
  };
  visit(value);
  return [...names];
}

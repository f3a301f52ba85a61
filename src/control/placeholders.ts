/**
 * `{{VAR}}` placeholders in workspace files (connections, processors), resolved from the environment,
 * `.env` and `config.txt`, with every resolved value registered for redaction.
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

  constructor(variable: string, file: string, path: string) {
    super(
      `${file}: ${path} uses {{${variable}}} but ${variable} is not set; ` +
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

/**
 * Variables for a workspace folder: `config.txt`, then `.env`, then the process environment (later wins).
 * Missing files are fine.
 */
export async function loadWorkspaceVariables(
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  for (const name of ["config.txt", ".env"]) {
    const text = await readFile(join(dir, name), "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return "";
      throw error;
    });
    Object.assign(vars, parseEnvFile(text));
  }
  for (const [key, value] of Object.entries(env)) if (value !== undefined) vars[key] = value;
  return vars;
}

/**
 * Replaces every `{{VAR}}` in the strings of `value` (deeply), registering each substituted value with
 * `redactor`. Throws MissingVariableError naming the variable, the file and the JSON path.
 */
export function resolvePlaceholders<T>(
  value: T,
  variables: Readonly<Record<string, string>>,
  options: { file: string; redactor?: Redactor; path?: string },
): T {
  return resolve(value, variables, options.file, options.redactor, options.path ?? "") as T;
}

function resolve(
  value: unknown,
  variables: Readonly<Record<string, string>>,
  file: string,
  redactor: Redactor | undefined,
  path: string,
): unknown {
  if (typeof value === "string") {
    if (!value.includes("{{")) return value;
    return value.replace(PLACEHOLDER, (_match, name: string) => {
      const resolved = variables[name];
      if (resolved === undefined) throw new MissingVariableError(name, file, path || "(root)");
      redactor?.add(resolved);
      return resolved;
    });
  }
  if (Array.isArray(value))
    return value.map((item, i) => resolve(item, variables, file, redactor, `${path}[${i}]`));
  if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = resolve(item, variables, file, redactor, path ? `${path}.${key}` : key);
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

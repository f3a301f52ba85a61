/**
 * A workspace folder on disk: `connections/*.json` (`{"connections": [{name, type, config}]}`) and
 * `processors/*.json` (`{name, pipeline, options}`). Every problem is reported with its file and JSON path
 * before anything is sent; `{{VAR}}` placeholders are kept verbatim (the server resolves them at start).
 */
import { readdir, readFile } from "node:fs/promises";
import { basename, isAbsolute, join, relative } from "node:path";
import { isPlainObject } from "../mql/bson-types.ts";
import { parseConnections } from "../connectors/connections.ts";
import { PlanError } from "../pipeline/errors.ts";
import { findJsonSyntaxError } from "../server/json-syntax.ts";
import type { JsonObject, ProcessorDefinition } from "./client.ts";
import { CliError, EXIT } from "./errors.ts";

export interface FolderProblem {
  readonly file: string;
  /** JSON path inside the file; "" for the file as a whole. */
  readonly path: string;
  readonly message: string;
}

/** Invalid local files: every problem, each with its file and JSON path. Exit code 2, nothing sent. */
export class WorkspaceFolderError extends CliError {
  readonly problems: readonly FolderProblem[];

  constructor(problems: readonly FolderProblem[], hint?: string) {
    super(
      `invalid workspace files (nothing was sent):\n` +
        problems.map((p) => `  ${p.file}: ${p.path ? `${p.path}: ` : ""}${p.message}`).join("\n"),
      { exitCode: EXIT.usage, hint },
    );
    this.problems = problems;
  }
}

export interface FolderConnection {
  /** The file it came from, as shown to the user. */
  readonly file: string;
  readonly name: string;
  /** The entry exactly as written (placeholders included), sent as the API body. */
  readonly body: JsonObject;
}

export interface FolderProcessor {
  readonly file: string;
  readonly definition: ProcessorDefinition;
}

const PROCESSOR_KEYS = new Set(["name", "pipeline", "options"]);

/** Every connection of `dir/connections/*.json`, in file order; throws `WorkspaceFolderError`. */
export async function readConnectionFiles(dir: string): Promise<FolderConnection[]> {
  const files = await jsonFiles(dir, "connections");
  const problems: FolderProblem[] = [];
  const out: FolderConnection[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const value = await readJson(file, problems);
    if (value === undefined) continue;
    try {
      parseConnections(value);
    } catch (error) {
      if (!(error instanceof PlanError)) throw error;
      for (const issue of error.errors) problems.push({ file: file.shown, ...issue });
      continue;
    }
    const list = (isPlainObject(value) ? value.connections : value) as JsonObject[];
    const base = isPlainObject(value) ? "connections" : "";
    list.forEach((entry, i) => {
      const name = String(entry.name ?? entry.connection_name ?? entry.connectionName);
      const earlier = seen.get(name);
      if (earlier !== undefined) {
        problems.push({
          file: file.shown,
          path: `${base}[${i}].name`,
          message: `connection '${name}' is already defined in ${earlier}`,
        });
        return;
      }
      seen.set(name, file.shown);
      out.push({ file: file.shown, name, body: entry });
    });
  }
  if (problems.length > 0) throw new WorkspaceFolderError(problems);
  return out;
}

/** Every processor of `dir/processors/*.json`, in file order; throws `WorkspaceFolderError`. */
export async function readProcessorFiles(dir: string): Promise<FolderProcessor[]> {
  const files = await jsonFiles(dir, "processors");
  const problems: FolderProblem[] = [];
  const out: FolderProcessor[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const value = await readJson(file, problems);
    if (value === undefined) continue;
    const before = problems.length;
    const definition = checkProcessor(value, basename(file.shown, ".json"), (path, message) =>
      problems.push({ file: file.shown, path, message }),
    );
    if (!definition || problems.length > before) continue;
    const earlier = seen.get(definition.name);
    if (earlier !== undefined) {
      problems.push({
        file: file.shown,
        path: "name",
        message: `processor '${definition.name}' is already defined in ${earlier}`,
      });
      continue;
    }
    seen.set(definition.name, file.shown);
    out.push({ file: file.shown, definition });
  }
  if (problems.length > 0) throw new WorkspaceFolderError(problems);
  return out;
}

/**
 * The files of the folder whose text uses `{{variable}}`, for errors about a variable the server could not
 * resolve ("… appears in connections/kafka.json"). Unreadable files are skipped.
 */
export async function filesUsingVariable(dir: string, variable: string): Promise<string[]> {
  const pattern = new RegExp(`\\{\\{\\s*${variable.replace(/[^A-Za-z0-9_]/g, "")}\\s*\\}\\}`);
  const out: string[] = [];
  for (const folder of ["connections", "processors"]) {
    const files = await jsonFiles(dir, folder).catch(() => []);
    for (const file of files) {
      const text = await readFile(file.path, "utf8").catch(() => "");
      if (pattern.test(text)) out.push(file.shown);
    }
  }
  return out;
}

/**
 * Checks the shape the server needs; deeper validation (stages, connections) is the server's planner's. A
 * file without `name` is named after the file (`processors/orders.json` → `orders`), as the seed `sp` tool
 * names every processor.
 */
function checkProcessor(
  value: unknown,
  stem: string,
  problem: (path: string, message: string) => void,
): ProcessorDefinition | undefined {
  if (!isPlainObject(value)) {
    problem("", 'expected a processor object {"name": …, "pipeline": […], "options": {…}}');
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!PROCESSOR_KEYS.has(key))
      problem(key, "unknown key; a processor file holds name, pipeline and options");
  }
  const { pipeline, options } = value;
  const name = value.name === undefined ? stem : value.name;
  if (typeof name !== "string" || name.trim() === "") {
    problem("name", `expected the processor's name (a non-empty string), got ${describe(name)}`);
  }
  if (!Array.isArray(pipeline) || pipeline.length === 0) {
    problem("pipeline", `expected a non-empty array of stages, got ${describe(pipeline)}`);
  } else {
    pipeline.forEach((stage, i) => {
      if (!isPlainObject(stage) || Object.keys(stage).length !== 1) {
        problem(
          `pipeline[${i}]`,
          `expected a stage object with one key like {"$match": {…}}, got ${describe(stage)}`,
        );
      }
    });
  }
  if (options !== undefined && !isPlainObject(options)) {
    problem("options", `expected an object like {"dlq": {…}}, got ${describe(options)}`);
  }
  if (typeof name !== "string" || !Array.isArray(pipeline)) return undefined;
  return {
    name,
    pipeline,
    ...(isPlainObject(options) ? { options: options as JsonObject } : {}),
  };
}

interface FolderFile {
  readonly path: string;
  readonly shown: string;
}

async function jsonFiles(dir: string, folder: string): Promise<FolderFile[]> {
  const path = join(dir, folder);
  let names: string[];
  try {
    names = await readdir(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${shown(path)}/: ${code === "ENOENT" ? "no such folder" : code}`, {
      exitCode: EXIT.usage,
      hint:
        `a workspace folder holds connections/*.json and processors/*.json; ` +
        `pass --dir DIR, or create one with \`sp workspaces init DIR\``,
    });
  }
  // `*.test.json` beside a processor holds its `sp test` cases (docs/testing-processors.md), not a definition.
  const files = names
    .filter((n) => n.endsWith(".json") && !n.endsWith(".test.json"))
    .sort()
    .map((n) => ({ path: join(path, n), shown: shown(join(path, n)) }));
  if (files.length === 0) {
    throw new CliError(`${shown(path)}/ holds no .json files`, {
      exitCode: EXIT.usage,
      hint:
        folder === "connections"
          ? `add one like {"connections": [{"name": "kafka", "type": "Kafka", "config": {"bootstrapServers": "localhost:9092"}}]}`
          : `add one like {"name": "p1", "pipeline": [{"$source": {…}}, {"$merge": {…}}]}`,
    });
  }
  return files;
}

async function readJson(file: FolderFile, problems: FolderProblem[]): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file.path, "utf8");
  } catch (error) {
    problems.push({
      file: file.shown,
      path: "",
      message: `cannot read: ${(error as NodeJS.ErrnoException).code}`,
    });
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const where = findJsonSyntaxError(text);
    const message = where
      ? `not valid JSON: line ${where.line}, column ${where.column}: ${where.message}`
      : `not valid JSON: ${(error as Error).message}`;
    problems.push({ file: file.shown, path: "", message });
    return undefined;
  }
}

/** A path as the user should see it: relative to the current directory when inside it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}

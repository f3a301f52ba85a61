/**
 * Test files (`<processor>.test.json` next to `<processor>.json`): finding them, reading them with the
 * processor and connections they name, and running their cases.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { EJSON } from "bson";
import { parseConnections } from "../connectors/connections.ts";
import { isPlainObject } from "../mql/index.ts";
import { PlanError } from "../pipeline/errors.ts";
import type { ConnectionEntry } from "../pipeline/plan.ts";
import { runTestCase, type CaseResult } from "./driver.ts";
import { parseCases, type TestCase } from "./test-case.ts";

export const TEST_FILE_SUFFIX = ".test.json";

/** A test file that cannot be used (unreadable, invalid JSON, invalid cases): what and where. */
export class TestFileError extends Error {
  override readonly name = "TestFileError";
}

export interface LoadedTestFile {
  readonly file: string;
  readonly processorFile: string | undefined;
  readonly definition: unknown;
  readonly connections: readonly ConnectionEntry[];
  readonly cases: readonly TestCase[];
}

export interface FileResult {
  readonly file: string;
  /** Set when the file could not be loaded: no case ran. */
  readonly error: string | undefined;
  readonly cases: readonly CaseResult[];
}

/**
 * Test files under `paths` (files as given, folders searched recursively, skipping `node_modules` and
 * dot-folders), sorted. No paths: the current directory.
 */
export async function findTestFiles(paths: readonly string[], cwd = process.cwd()): Promise<string[]> {
  const found = new Set<string>();
  for (const path of paths.length > 0 ? paths : ["."]) {
    const full = resolve(cwd, path);
    let info;
    try {
      info = await stat(full);
    } catch {
      throw new TestFileError(`cannot read ${path}: no such file or folder`);
    }
    if (info.isFile()) found.add(full);
    else for (const file of await walk(full)) found.add(file);
  }
  return [...found].sort();
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (entry.name.endsWith(TEST_FILE_SUFFIX)) out.push(full);
  }
  return out;
}

/**
 * Reads a test file `{processor?, connections?, cases}`. `processor` is a file next to it (default: the
 * test file's name without `.test`) or an inline definition; `connections` a list of entries and/or files
 * or folders of connection files (default: the workspace folder's `../connections/` when there is one).
 */
export async function loadTestFile(file: string): Promise<LoadedTestFile> {
  const raw = await readJson(file);
  if (!isPlainObject(raw)) throw new TestFileError(`${file}: expected {processor?, connections?, cases}`);
  for (const key of Object.keys(raw))
    if (!["processor", "connections", "cases", "description"].includes(key))
      throw new TestFileError(`${file}: ${key}: unknown field (processor, connections, cases, description)`);
  const dir = dirname(file);
  let processorFile: string | undefined;
  let definition: unknown;
  if (raw.processor === undefined || typeof raw.processor === "string") {
    processorFile = resolve(
      dir,
      (raw.processor as string | undefined) ?? basename(file).slice(0, -TEST_FILE_SUFFIX.length) + ".json",
    );
    definition = await readJson(processorFile);
  } else definition = raw.processor;
  const connections = await readConnectionList(raw.connections, dir, file);
  let cases: TestCase[];
  try {
    cases = parseCases(raw.cases);
  } catch (error) {
    if (error instanceof PlanError)
      throw new TestFileError(`${file}:\n${error.errors.map((e) => `  ${e.path}: ${e.message}`).join("\n")}`);
    throw error;
  }
  return { file, processorFile, definition, connections, cases };
}

/** Loads a test file and runs every case (a file that cannot be loaded is a failed result, not a throw). */
export async function runTestFile(file: string, filter?: (name: string) => boolean): Promise<FileResult> {
  let loaded: LoadedTestFile;
  try {
    loaded = await loadTestFile(file);
  } catch (error) {
    return { file, error: (error as Error).message, cases: [] };
  }
  const cases: CaseResult[] = [];
  for (const testCase of loaded.cases) {
    if (filter && !filter(testCase.name)) continue;
    cases.push(
      await runTestCase({ definition: loaded.definition, connections: loaded.connections, testCase }),
    );
  }
  return { file, error: undefined, cases };
}

async function readConnectionList(raw: unknown, dir: string, file: string): Promise<ConnectionEntry[]> {
  const items: unknown[] = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (raw === undefined) {
    const folder = resolve(dir, "../connections");
    if (await isDirectory(folder)) items.push(folder);
  }
  const inline: unknown[] = [];
  const entries: ConnectionEntry[] = [];
  for (const item of items) {
    if (typeof item !== "string") {
      inline.push(item);
      continue;
    }
    const path = resolve(dir, item);
    const files = (await isDirectory(path))
      ? (await readdir(path))
          .filter((f) => f.endsWith(".json"))
          .sort()
          .map((f) => join(path, f))
      : [path];
    for (const connectionFile of files)
      entries.push(...parseOrThrow(await readJson(connectionFile), connectionFile));
  }
  if (inline.length > 0) entries.push(...parseOrThrow(inline, `${file}: connections`));
  return entries;
}

function parseOrThrow(value: unknown, label: string): ConnectionEntry[] {
  try {
    return parseConnections(value);
  } catch (error) {
    if (error instanceof PlanError)
      throw new TestFileError(`${label}: ${error.errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`);
    throw error;
  }
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new TestFileError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  try {
    return EJSON.parse(text, { relaxed: true });
  } catch (error) {
    throw new TestFileError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Writes a conversion as a workspace folder: connections/, processors/, functions/ and MIGRATION.md. */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Doc } from "../mql/index.ts";
import { parseConnections } from "../connectors/connections.ts";
import { CONNECTORS } from "../connectors/registry.ts";
import { catalogOf } from "../pipeline/connections.ts";
import { formatIssue, planProcessor, PlanError } from "../pipeline/index.ts";
import type { Conversion } from "./convert.ts";
import { migrationReport } from "./report.ts";

export interface WrittenWorkspace {
  readonly files: readonly string[];
  /** Trigger name → problems the planner found in its processor (placeholders resolved to examples). */
  readonly lintProblems: ReadonlyMap<string, readonly string[]>;
}

export class OutputNotEmptyError extends Error {
  override readonly name = "OutputNotEmptyError";
}

export async function writeWorkspace(
  conversion: Conversion,
  exportDir: string,
  out: string,
): Promise<WrittenWorkspace> {
  const existing = await readdir(out).catch(() => [] as string[]);
  if (existing.length > 0)
    throw new OutputNotEmptyError(`${out} is not empty; choose a new folder for --out (nothing was written)`);
  const files: string[] = [];
  const put = async (rel: string, text: string) => {
    await mkdir(join(out, rel, ".."), { recursive: true });
    await writeFile(join(out, rel), text);
    files.push(rel);
  };
  await put("connections/connections.json", json({ connections: conversion.connections }));
  for (const item of conversion.triggers) {
    if (item.processor) await put(`processors/${String(item.processor.name)}.json`, json(item.processor));
    if (item.func) await put(item.func.file, item.func.source);
  }
  const lintProblems = lintAll(conversion);
  await put("MIGRATION.md", migrationReport(conversion, exportDir, lintProblems));
  return { files, lintProblems };
}

/** Plans every processor against the generated connections, placeholders filled with example values. */
function lintAll(conversion: Conversion): Map<string, readonly string[]> {
  const problems = new Map<string, readonly string[]>();
  const examples = JSON.parse(
    JSON.stringify(conversion.connections).replace(/\{\{[A-Za-z0-9_]+\}\}/g, (name) =>
      /URI/.test(name)
        ? "mongodb://localhost:27017"
        : /POSTGRES|PG|WAREHOUSE/.test(name)
          ? "postgres://localhost/db"
          : "http://localhost",
    ),
  ) as Doc[];
  const catalog = catalogOf(parseConnections({ connections: examples }));
  for (const item of conversion.triggers) {
    if (!item.processor) continue;
    try {
      planProcessor(item.processor, { connections: catalog, connectors: CONNECTORS, ephemeral: false });
    } catch (error) {
      if (!(error instanceof PlanError)) throw error;
      problems.set(item.trigger.name, error.errors.map(formatIssue));
    }
  }
  return problems;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

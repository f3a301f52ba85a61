import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { EJSON } from "bson";
import { loadWorkspaceVariables, resolvePlaceholders } from "../control/placeholders.ts";
import type { Doc } from "../mql/index.ts";
import type { ConnectionCatalog, ProcessorPlan } from "../pipeline/plan.ts";
import { catalogOf } from "../pipeline/connections.ts";
import { parseConnections } from "../connectors/connections.ts";
import { UsageError } from "./args.ts";

/** Reads a whole file, or stdin for "-". */
export async function readText(path: string, stdin: NodeJS.ReadableStream): Promise<string> {
  if (path !== "-") {
    try {
      return await readFile(path, "utf8");
    } catch (error) {
      throw new UsageError(
        `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
  }
  let text = "";
  stdin.setEncoding("utf8");
  for await (const chunk of stdin) text += String(chunk);
  return text;
}

/** Parses JSON / Extended JSON text, naming the file when it is not valid. */
export function parseJsonText(text: string, label: string): unknown {
  try {
    return EJSON.parse(text, { relaxed: true });
  } catch (error) {
    throw new UsageError(`${label} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * A processor definition `{name, pipeline, options}`; a bare pipeline array is accepted as `sp.process`
 * takes one, and corpus-style files (`processor_name`) too.
 */
export function normalizeDefinition(value: unknown, fallbackName: string): Doc {
  if (Array.isArray(value)) return { name: fallbackName, pipeline: value, options: {} };
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const def = value as Doc;
    if (def.name === undefined && typeof def.processor_name === "string") {
      const { processor_name: name, ...rest } = def;
      return keepDefinitionKeys({ ...rest, name });
    }
    return keepDefinitionKeys({ name: fallbackName, ...def });
  }
  return { name: fallbackName, pipeline: value, options: {} };
}

/** Corpus case files carry documentation keys (origin, notes…) that are not part of a definition. */
function keepDefinitionKeys(def: Doc): Doc {
  if (!("origin" in def) && !("expect" in def)) return def;
  const { name, pipeline, options } = def;
  return { name, pipeline, ...(options !== undefined ? { options } : {}) };
}

export async function loadCatalog(
  path: string | undefined,
  stdin: NodeJS.ReadableStream,
): Promise<ConnectionCatalog> {
  if (path === undefined) return catalogOf();
  const raw = parseJsonText(await readText(path, stdin), path);
  const variables = await loadWorkspaceVariables(path === "-" ? process.cwd() : dirname(path));
  return catalogOf(parseConnections(resolvePlaceholders(raw, variables, { file: path })));
}

type Planner = (
  definition: unknown,
  options: { connections: ConnectionCatalog; ephemeral: boolean },
) => ProcessorPlan;

/** The planner, loaded lazily so commands that do not plan still start when it is broken. */
export async function loadPlanner(): Promise<Planner> {
  const [{ planProcessor }, { CONNECTORS }] = await Promise.all([
    import("../pipeline/index.ts"),
    import("../connectors/registry.ts"),
  ]);
  return (definition, options) => planProcessor(definition, { ...options, connectors: CONNECTORS });
}

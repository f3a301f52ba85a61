/**
 * Turns a stored processor into what a start runs: its `{{VAR}}`s filled in, its start position applied, its
 * plan built (once) and the connections it uses resolved and checked against what pipelines may read.
 */
import type { Doc } from "../mql/index.ts";
import type { ConnectionCatalog, ProcessorPlan } from "../pipeline/plan.ts";
import type { ConnectionRegistry } from "./connection-registry.ts";
import { invalid } from "./errors.ts";
import { checkCatalogFileAccess, type PipelineAccess } from "./file-access.ts";
import {
  envAllowed,
  loadWorkspaceVariables,
  MissingVariableError,
  resolvePlaceholders,
} from "./placeholders.ts";
import { connectionsOfPlan } from "./plan-connections.ts";
import { planDefinition, withStartPosition, type StartOptions } from "./processor-definition.ts";
import type { ProcessorRecord } from "./processor-registry.ts";
import type { Redactor } from "./redactor.ts";

/** A processor's plan and the catalog its connectors open with. */
export interface PreparedProcessor {
  readonly plan: ProcessorPlan;
  readonly catalog: ConnectionCatalog;
}

export interface PreparationSettings {
  readonly connections: ConnectionRegistry;
  readonly redactor: Redactor;
  /** Where `.env`/`config.txt` are read for workspaces without their own folder. */
  readonly envDir: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly access?: PipelineAccess;
}

/** The plan and resolved catalog of a stored processor; throws on a missing variable or a bad definition. */
export async function prepareProcessor(
  record: ProcessorRecord,
  options: StartOptions,
  settings: PreparationSettings,
): Promise<PreparedProcessor> {
  const { workspace, name } = record;
  const env = settings.env ?? process.env;
  const { access } = settings;
  const variables = await loadWorkspaceVariables(settings.envDir, env, access?.env);
  const withheld = (variable: string): boolean =>
    env[variable] !== undefined && !envAllowed(variable, access?.env);
  const resolved = resolveDefinition(record, variables, withheld, settings.redactor);
  // Planning needs connection names and types only; settings (with their `{{VAR}}`s) are read when the
  // connectors open, so only the connections the plan uses are resolved, and the plan is built once.
  const unresolved = await settings.connections.catalog(workspace);
  const pipeline = withStartPosition(resolved.pipeline, options, unresolved);
  const definition = { name, pipeline, options: resolved.options };
  const plan = planDefinition(definition, unresolved, definition);
  const used = connectionsOfPlan(plan);
  const catalog = await settings.connections.resolvedCatalog(workspace, variables, used, withheld);
  if (access) await checkCatalogFileAccess(catalog, used, access.files, workspace);
  return { plan, catalog };
}

/** The stored pipeline and options with `{{VAR}}` filled in (values registered for redaction). */
function resolveDefinition(
  record: ProcessorRecord,
  variables: Readonly<Record<string, string>>,
  withheld: (variable: string) => boolean,
  redactor: Redactor,
): { pipeline: readonly unknown[]; options: Doc } {
  const file = `processor '${record.name}' in workspace '${record.workspace}'`;
  try {
    return resolvePlaceholders({ pipeline: record.pipeline, options: record.options }, variables, {
      file,
      redactor,
      withheld,
    });
  } catch (error) {
    if (!(error instanceof MissingVariableError)) throw error;
    throw invalid("MISSING_VARIABLE", { problem: error.message }, [
      { path: error.path, message: error.message, expected: `${error.variable} to be set` },
    ]);
  }
}

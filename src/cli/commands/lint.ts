import { basename, dirname } from "node:path";
import { parseArgs, UsageError } from "../args.ts";
import { normalizeDefinition, parseJsonText, readText } from "../definition.ts";
import type { CliIo } from "../io.ts";
import type { ConnectionCatalog, ProcessorPlan } from "../../pipeline/plan.ts";
import { CONNECTORS } from "../../connectors/registry.ts";
import { parseConnections } from "../../connectors/connections.ts";
import { catalogOf, formatIssue, planProcessor, PlanError, type PlanIssue } from "../../pipeline/index.ts";
import { loadWorkspaceVariables, placeholdersIn, resolvePlaceholders } from "../../control/placeholders.ts";
import { SAMPLE_DATASETS } from "../../connectors/sample/spec.ts";
import { findExtensionUses } from "../../connectors/extensions.ts";
import { explainScaleOut } from "../../control/scale/split-plan.ts";

export const LINT_USAGE = `usage: sp lint <definition.json ...> [--connections FILE] [--ephemeral] [--atlas]

Validates processor definitions ({name, pipeline, options} or a bare pipeline array) as Atlas Stream
Processing would, without running them, and prints every problem with its JSON path.
  --connections FILE  connection registry {"connections": [{name, type, config}]}
                      (sample_stream_solar is always defined)
  --ephemeral         validate as \`sp process\` runs it (no sink required)
  --atlas             also report every Eddy extension Atlas would refuse or run differently
                      ($$NOW, config.exactlyOnce, PostgreSQL/OTLP/File connections, …), each
                      with its JSON path and why (docs/asp-differences.md)
Exit status: 0 all valid, 1 some invalid (or, with --atlas, not portable), 2 usage error.`;

type LintIo = Pick<CliIo, "stdout" | "stderr"> & Partial<Pick<CliIo, "stdin">>;

/** `sp lint`: plans each file and reports every error; exit 0 when all are valid, 1 when any is invalid. */
export async function lintCommand(args: readonly string[], io: LintIo): Promise<number> {
  let files: string[];
  let catalog: ConnectionCatalog;
  let ephemeral: boolean;
  let parsed: ReturnType<typeof parseArgs>;
  const stdin = io.stdin ?? process.stdin;
  try {
    parsed = parseArgs(args, { valued: ["connections"], flags: ["ephemeral", "atlas", "help"] });
    if (parsed.flags.has("help")) {
      io.stdout.write(`${LINT_USAGE}\n`);
      return 0;
    }
    if (parsed.positional.length === 0) throw new UsageError("lint needs at least one definition file");
    files = parsed.positional;
    ephemeral = parsed.flags.has("ephemeral");
  } catch (error) {
    return usageFailure(error, io);
  }
  try {
    catalog = await loadLintCatalog(parsed.options.get("connections"), stdin, io);
  } catch (error) {
    return fileFailure(error, io);
  }
  const atlas = parsed.flags.has("atlas");
  let invalid = 0;
  for (const file of files) {
    let issues: readonly PlanIssue[];
    let findings: readonly PlanIssue[] = [];
    let definition: unknown;
    try {
      const name = file === "-" ? "stdin" : basename(file).replace(/\.json$/, "");
      definition = normalizeDefinition(parseJsonText(await readText(file, stdin), file), name);
      issues = lintDefinition(definition, catalog, ephemeral);
      if (atlas) findings = atlasFindings(definition, catalog);
    } catch (error) {
      return fileFailure(error, io);
    }
    if (issues.length === 0 && findings.length === 0) {
      io.stdout.write(`${file}: ok${atlas ? " (portable to Atlas)" : ""}\n`);
      for (const note of scaleOutNotes(definition, catalog, ephemeral))
        io.stdout.write(`  scale-out: ${note}\n`);
      continue;
    }
    invalid++;
    if (issues.length > 0) {
      io.stdout.write(`${file}: ${issues.length} error${issues.length === 1 ? "" : "s"}\n`);
      for (const issue of issues) io.stdout.write(`  ${formatIssue(issue)}\n`);
    }
    if (findings.length > 0) {
      const n = findings.length;
      io.stdout.write(
        `${file}: ${n} Eddy extension${n === 1 ? "" : "s"} Atlas would refuse or run differently\n`,
      );
      for (const finding of findings) io.stdout.write(`  ${formatIssue(finding)}\n`);
    }
  }
  return invalid > 0 ? 1 : 0;
}

/** `--atlas`: every use of an Eddy extension, with what Atlas does and how to stay portable. */
export function atlasFindings(definition: unknown, connections: ConnectionCatalog): readonly PlanIssue[] {
  return findExtensionUses(definition, connections).map(({ path, extension }) => ({
    path,
    message: `${extension.construct} is an Eddy extension. ${extension.atlas} To stay portable: ${extension.portable}.`,
  }));
}

/** With `options.parallelism`: how the processor runs scaled out, and whether (and why) it repartitions. */
export function scaleOutNotes(
  definition: unknown,
  connections: ConnectionCatalog,
  ephemeral = false,
): readonly string[] {
  const plan = planned(definition, connections, ephemeral);
  return plan instanceof PlanError ? [] : explainScaleOut(plan);
}

/** Every problem `planProcessor` finds in `definition` (empty when it plans). */
export function lintDefinition(
  definition: unknown,
  connections: ConnectionCatalog,
  ephemeral = false,
): readonly PlanIssue[] {
  const plan = planned(definition, connections, ephemeral);
  return plan instanceof PlanError ? plan.errors : runtimeIssues(plan);
}

/** The plan of `definition`, or the PlanError listing its problems. */
function planned(
  definition: unknown,
  connections: ConnectionCatalog,
  ephemeral: boolean,
): ProcessorPlan | PlanError {
  try {
    return planProcessor(definition, { connections, connectors: CONNECTORS, ephemeral });
  } catch (error) {
    if (error instanceof PlanError) return error;
    throw error;
  }
}

/** What the planner accepts but starting the processor would refuse: a Sample source's dataset. */
function runtimeIssues(plan: ProcessorPlan): readonly PlanIssue[] {
  const source = plan.source;
  const dataset = (source.options as { dataset?: unknown } | undefined)?.dataset;
  if (source.type !== "Sample" || (SAMPLE_DATASETS as readonly unknown[]).includes(dataset)) return [];
  return [
    {
      path: "pipeline[0].$source.connectionName",
      message: `Sample connection '${source.connectionName}' generates the dataset '${String(dataset)}' (its config.dataset, else its name), which does not exist; set config.dataset to one of: ${SAMPLE_DATASETS.join(", ")}.`,
    },
  ];
}

/**
 * The connections file as \`sp process\` loads it, except that a \`{{VAR}}\` that is not set stays as it
 * is (an opaque value) with a warning, instead of failing the lint.
 */
async function loadLintCatalog(
  path: string | undefined,
  stdin: NodeJS.ReadableStream,
  io: LintIo,
): Promise<ConnectionCatalog> {
  if (path === undefined) return catalogOf();
  const raw = parseJsonText(await readText(path, stdin), path);
  const variables = await loadWorkspaceVariables(path === "-" ? process.cwd() : dirname(path));
  const opaque: Record<string, string> = {};
  for (const name of placeholdersIn(raw)) {
    if (variables[name] !== undefined) continue;
    opaque[name] = `{{${name}}}`;
    io.stderr.write(
      `sp lint: warning: ${path} uses {{${name}}}, which is not set; linted as an opaque value\n`,
    );
  }
  return catalogOf(parseConnections(resolvePlaceholders(raw, { ...variables, ...opaque }, { file: path })));
}

/** Bad arguments: the message and the usage text. */
function usageFailure(error: unknown, io: LintIo): number {
  io.stderr.write(`sp lint: ${error instanceof Error ? error.message : String(error)}\n${LINT_USAGE}\n`);
  return 2;
}

/** A file that cannot be read or parsed: what is wrong with it, without the usage text. */
function fileFailure(error: unknown, io: LintIo): number {
  if (error instanceof PlanError) {
    io.stderr.write(`sp lint: invalid connections file:\n`);
    for (const issue of error.errors) io.stderr.write(`  ${formatIssue(issue)}\n`);
    return 2;
  }
  io.stderr.write(`sp lint: ${error instanceof Error ? error.message : String(error)}\n`);
  return 2;
}

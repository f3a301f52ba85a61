import { basename } from "node:path";
import { parseArgs, UsageError } from "../args.ts";
import { loadCatalog, normalizeDefinition, parseJsonText, readText } from "../definition.ts";
import type { CliIo } from "../io.ts";
import type { ConnectionCatalog } from "../../pipeline/plan.ts";
import { CONNECTORS } from "../../connectors/registry.ts";
import { formatIssue, planProcessor, PlanError, type PlanIssue } from "../../pipeline/index.ts";

export const LINT_USAGE = `usage: sp lint <definition.json ...> [--connections FILE] [--ephemeral]

Validates processor definitions ({name, pipeline, options} or a bare pipeline array) as Atlas Stream
Processing would, without running them, and prints every problem with its JSON path.
  --connections FILE  connection registry {"connections": [{name, type, config}]}
                      (sample_stream_solar is always defined)
  --ephemeral         validate as \`sp process\` runs it (no sink required)
Exit status: 0 all valid, 1 some invalid, 2 usage error.`;

type LintIo = Pick<CliIo, "stdout" | "stderr"> & Partial<Pick<CliIo, "stdin">>;

/** `sp lint`: plans each file and reports every error; exit 0 when all are valid, 1 when any is invalid. */
export async function lintCommand(args: readonly string[], io: LintIo): Promise<number> {
  let files: string[];
  let catalog: ConnectionCatalog;
  let ephemeral: boolean;
  const stdin = io.stdin ?? process.stdin;
  try {
    const parsed = parseArgs(args, { valued: ["connections"], flags: ["ephemeral", "help"] });
    if (parsed.flags.has("help")) {
      io.stdout.write(`${LINT_USAGE}\n`);
      return 0;
    }
    if (parsed.positional.length === 0) throw new UsageError("lint needs at least one definition file");
    files = parsed.positional;
    ephemeral = parsed.flags.has("ephemeral");
    catalog = await loadCatalog(parsed.options.get("connections"), stdin);
  } catch (error) {
    return usageFailure(error, io);
  }
  let invalid = 0;
  for (const file of files) {
    let issues: readonly PlanIssue[];
    try {
      const name = file === "-" ? "stdin" : basename(file).replace(/\.json$/, "");
      const definition = normalizeDefinition(parseJsonText(await readText(file, stdin), file), name);
      issues = lintDefinition(definition, catalog, ephemeral);
    } catch (error) {
      return usageFailure(error, io);
    }
    if (issues.length === 0) {
      io.stdout.write(`${file}: ok\n`);
      continue;
    }
    invalid++;
    io.stdout.write(`${file}: ${issues.length} error${issues.length === 1 ? "" : "s"}\n`);
    for (const issue of issues) io.stdout.write(`  ${formatIssue(issue)}\n`);
  }
  return invalid > 0 ? 1 : 0;
}

/** Every problem `planProcessor` finds in `definition` (empty when it plans). */
export function lintDefinition(
  definition: unknown,
  connections: ConnectionCatalog,
  ephemeral = false,
): readonly PlanIssue[] {
  try {
    planProcessor(definition, { connections, connectors: CONNECTORS, ephemeral });
    return [];
  } catch (error) {
    if (error instanceof PlanError) return error.errors;
    throw error;
  }
}

function usageFailure(error: unknown, io: LintIo): number {
  if (error instanceof PlanError) {
    io.stderr.write(`sp lint: invalid connections file:\n`);
    for (const issue of error.errors) io.stderr.write(`  ${formatIssue(issue)}\n`);
    return 2;
  }
  io.stderr.write(`sp lint: ${error instanceof Error ? error.message : String(error)}\n${LINT_USAGE}\n`);
  return 2;
}

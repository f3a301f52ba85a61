import { EJSON } from "bson";
import { JsonLinesDlqWriter } from "../../runtime/index.ts";
import { parseArgs, UsageError } from "../args.ts";
import { loadCatalog, loadPlanner, normalizeDefinition, parseJsonText, readText } from "../definition.ts";
import { reportError } from "../errors.ts";
import type { CliIo } from "../io.ts";
import { runProcessor } from "../run-processor.ts";

export const PROCESS_USAGE = `usage: sp process <definition.json | -> [--connections FILE] [--dlq FILE] [--stats] [--dry-run]

Runs a processor ephemerally, like ASP's sp.process(): without a sink each output document is printed as
one line of relaxed Extended JSON on stdout. Dead-letter records go to stderr as {"_dlqMessage": …} lines,
or to FILE (JSON Lines) with --dlq. --stats prints the final stats as JSON on stderr.
With a $merge or $emit sink the documents are written there, as ASP does; --dry-run prints them on stdout
instead. The definition is {name, pipeline, options} or a bare pipeline array.`;

export async function processCommand(args: readonly string[], io: CliIo): Promise<number> {
  try {
    const parsed = parseArgs(args, { valued: ["connections", "dlq"], flags: ["stats", "help", "dry-run"] });
    if (parsed.flags.has("help")) {
      io.stdout.write(PROCESS_USAGE + "\n");
      return 0;
    }
    if (parsed.positional.length !== 1)
      throw new UsageError(`expected one definition file (or -)\n${PROCESS_USAGE}`);
    const [file] = parsed.positional;
    const definition = normalizeDefinition(parseJsonText(await readText(file, io.stdin), file), "process");
    const catalog = await loadCatalog(parsed.options.get("connections"), io.stdin);
    const planProcessor = await loadPlanner();
    const plan = planProcessor(definition, { connections: catalog, ephemeral: true });
    const dlqFile = parsed.options.get("dlq");
    const dlq = dlqFile
      ? new JsonLinesDlqWriter(dlqFile)
      : plan.dlq && !parsed.flags.has("dry-run")
        ? undefined
        : new JsonLinesDlqWriter(io.stderr, { wrap: true });
    const stats = await runProcessor(plan, catalog, io, { dlq, dryRun: parsed.flags.has("dry-run") });
    if (parsed.flags.has("stats")) io.stderr.write(EJSON.stringify(stats, { relaxed: true }) + "\n");
    return 0;
  } catch (error) {
    return reportError(error, io, true);
  }
}

import { EJSON } from "bson";
import { JsonLinesDlqWriter, slotKey, type CheckpointSlots } from "../../runtime/index.ts";
import { parseArgs, UsageError, type ParsedArgs } from "../args.ts";
import { loadCatalog, loadPlanner, normalizeDefinition, parseJsonText, readText } from "../definition.ts";
import { reportError } from "../errors.ts";
import type { CliIo } from "../io.ts";
import { runProcessor } from "../run-processor.ts";

export const PROCESS_USAGE = `usage: sp process <definition.json | -> [--connections FILE] [--dlq FILE] [--stats] [--dry-run]
                  [--checkpoint-dir DIR] [--checkpoint-interval MS] [--limit N] [--timeout SECONDS]

Runs a processor ephemerally, like ASP's sp.process(): without a sink each output document is printed as
one line of relaxed Extended JSON on stdout. Dead-letter records go to stderr as {"_dlqMessage": …} lines,
or to FILE (JSON Lines) with --dlq. --stats prints the final stats as JSON on stderr.
With a $merge or $emit sink the documents are written there, as ASP does; --dry-run prints them on stdout
instead. The definition is {name, pipeline, options} or a bare pipeline array.

Lost connections are retried with exponential back-off (1 s doubling to 60 s; the processor fails after
5 minutes without progress); each retry is logged on stderr as a JSON line.

  --checkpoint-dir DIR       save checkpoints (source positions, window state, stats) under DIR, and
                             resume from the one there if DIR already holds one for this processor name
                             (after Ctrl-C, a crash or kill -9): see docs/checkpoints.md
  --checkpoint-interval MS   time between checkpoints (default 5000); one is also taken on stop
  --limit N                  stop after N documents were written (the batch reaching N is written whole)
  --timeout SECONDS          stop gracefully after SECONDS (final checkpoint included)`;

export async function processCommand(args: readonly string[], io: CliIo): Promise<number> {
  try {
    const parsed = parseArgs(args, {
      valued: ["connections", "dlq", "checkpoint-dir", "checkpoint-interval", "limit", "timeout"],
      flags: ["stats", "help", "dry-run"],
    });
    if (parsed.flags.has("help")) {
      io.stdout.write(PROCESS_USAGE + "\n");
      return 0;
    }
    if (parsed.positional.length !== 1)
      throw new UsageError(`expected one definition file (or -)\n${PROCESS_USAGE}`);
    const checkpointIntervalMs = positiveNumber(parsed, "checkpoint-interval");
    const limit = positiveNumber(parsed, "limit");
    const timeoutSeconds = positiveNumber(parsed, "timeout");
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
    const checkpointDir = parsed.options.get("checkpoint-dir");
    const stats = await runProcessor(plan, catalog, io, {
      dlq,
      dryRun: parsed.flags.has("dry-run"),
      checkpoints: checkpointDir ? await fileCheckpoints(checkpointDir, plan.name) : undefined,
      checkpointIntervalMs,
      limit,
      timeoutMs: timeoutSeconds !== undefined ? timeoutSeconds * 1000 : undefined,
    });
    if (parsed.flags.has("stats")) io.stderr.write(EJSON.stringify(stats, { relaxed: true }) + "\n");
    return 0;
  } catch (error) {
    return reportError(error, io, true);
  }
}

/** `--checkpoint-dir`: checkpoints in files under `dir` (loaded only when asked for). */
async function fileCheckpoints(dir: string, name: string): Promise<CheckpointSlots> {
  const [{ StateStoreCheckpoints }, { FileStateStore }] = await Promise.all([
    import("../../control/checkpoint-store.ts"),
    import("../../control/file-state-store.ts"),
  ]);
  return (slot) => new StateStoreCheckpoints(new FileStateStore(dir), slotKey(name, slot));
}

function positiveNumber(parsed: ParsedArgs, name: string): number | undefined {
  const text = parsed.options.get(name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new UsageError(`--${name} must be a positive number, got '${text}'`);
  }
  return value;
}

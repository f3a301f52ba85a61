/** `sp processors create|list|start|stop|restart|drop|stats` and the shortcuts `sp list|start|stop|restart|stats`. */
import { UsageError } from "../args.ts";
import type { ApiError, Processor, ProcessorDefinition, StartOptions } from "../client.ts";
import { canonicalJson } from "../format.ts";
import { CliError, EXIT, reportError } from "../errors.ts";
import { formatAge, stateLabel } from "../format.ts";
import type { CliIo } from "../io.ts";
import { reportOutcomes, runEach, type StepResult } from "../outcomes.ts";
import { REMOTE_OPTIONS_HELP, remoteContext, type Remote } from "../remote.ts";
import { formatTable, terminalWidth } from "../table.ts";
import { filesUsingVariable, readProcessorFiles, type FolderProcessor } from "../workspace-folder.ts";
import { statsCommand, STATS_OPTIONS } from "./processor-stats.ts";
import { describeKafkaDrop } from "../../control/scale/scaled-resources.ts";

export const PROCESSORS_USAGE = `usage: sp processors <action> [--processor NAME] [options]

Manages the processors of a server workspace (like mongosh's sp.<name>.start() etc.):
  create    deploy every processors/*.json of the workspace folder (or only --processor NAME)
            --replace  update processors that already exist (they must be stopped)
            --parallelism N  run each as up to N tasks over the servers sharing a state store
                       (options.parallelism, Kafka sources only; docs/scale-out.md)
  list      processors with their state
  start     start every processor not running (or only --processor NAME)
            --no-resume  start fresh instead of from the last checkpoint (resumeFromCheckpoint: false)
            --start-at-operation-time ISO  where a change-stream source starts when not resuming
  stop      stop every running processor (or only --processor NAME); state is kept
  restart   stop and start every running or failed processor (or only --processor NAME)
            --reload  update each from its processors/*.json between the stop and the start
  drop      delete --processor NAME with all its state, or every processor with --all
  stats     ASP stats of every processor (or only --processor NAME)
            --watch  redraw every second until Ctrl-C (with --json: one JSON line per tick)
            --interval SECONDS  --count N (stop after N refreshes)  --verbose  --scale N
The processor name can also be given as the argument: sp processors start orders

Shortcuts: sp list, sp start, sp stop, sp restart, sp stats (= sp processors <action>).

${REMOTE_OPTIONS_HELP}

Exit status: 0 done, 1 the server refused something, 2 usage error or invalid local files (nothing sent),
3 no server at the URL, 4 API token missing or wrong.`;

const ACTIONS = ["create", "list", "start", "stop", "restart", "drop", "stats"] as const;
type Action = (typeof ACTIONS)[number];

/** Options of every action; a flag an action does not use is refused. */
const OPTIONS: Readonly<Record<Action, { valued: string[]; flags: string[] }>> = {
  create: { valued: ["processor", "parallelism"], flags: ["replace"] },
  list: { valued: [], flags: [] },
  start: { valued: ["processor", "start-at-operation-time"], flags: ["no-resume"] },
  stop: { valued: ["processor"], flags: [] },
  restart: { valued: ["processor"], flags: ["no-resume", "reload"] },
  drop: { valued: ["processor"], flags: ["all"] },
  stats: { valued: ["processor", ...STATS_OPTIONS.valued], flags: [...STATS_OPTIONS.flags] },
};

export async function processorsCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [action, ...rest] = args;
  if (action === undefined || action === "--help" || action === "-h" || action === "help") {
    io.stdout.write(PROCESSORS_USAGE + "\n");
    return action === undefined ? EXIT.usage : EXIT.ok;
  }
  if (!(ACTIONS as readonly string[]).includes(action)) {
    io.stderr.write(`sp processors: unknown action '${action}'; expected one of ${ACTIONS.join(", ")}\n`);
    return EXIT.usage;
  }
  return runAction(action as Action, rest, io);
}

/** `sp list` etc.: the processors action of the same name. */
export function processorsShortcut(action: Action): (args: readonly string[], io: CliIo) => Promise<number> {
  return (args, io) => runAction(action, args, io);
}

async function runAction(action: Action, args: readonly string[], io: CliIo): Promise<number> {
  try {
    const remote = await remoteContext(args, io, OPTIONS[action]);
    if (remote.parsed.flags.has("help")) {
      io.stdout.write(PROCESSORS_USAGE + "\n");
      return EXIT.ok;
    }
    const name = processorName(remote);
    switch (action) {
      case "create":
        return await createProcessors(remote, name);
      case "list":
        return await listProcessors(remote);
      case "start":
        return await startProcessors(remote, name);
      case "stop":
        return await stopProcessors(remote, name);
      case "restart":
        return await restartProcessors(remote, name);
      case "drop":
        return await dropProcessors(remote, name);
      case "stats":
        return await statsCommand(remote, name);
    }
  } catch (error) {
    return reportError(error, io, false);
  }
}

/** `--processor NAME` or the one positional argument. */
function processorName(remote: Remote): string | undefined {
  const { positional, options } = remote.parsed;
  if (positional.length > 1)
    throw new UsageError(`expected at most one processor name, got ${positional.join(" ")}`);
  const flag = options.get("processor");
  if (flag !== undefined && positional.length === 1 && positional[0] !== flag) {
    throw new UsageError(`two processor names given: ${positional[0]} and --processor ${flag}`);
  }
  return flag ?? positional[0];
}

async function createProcessors(remote: Remote, only: string | undefined): Promise<number> {
  const all = await readProcessorFiles(remote.dir);
  const chosen = only === undefined ? all : all.filter((p) => p.definition.name === only);
  if (chosen.length === 0) {
    throw new CliError(`no processors/*.json in ${remote.dir} defines a processor named '${only}'`, {
      exitCode: EXIT.usage,
      hint: `processors there: ${all.map((p) => p.definition.name).join(", ")}`,
    });
  }
  const replace = remote.parsed.flags.has("replace");
  const parallelism = parallelismFlag(remote);
  const outcomes = await runEach<FolderProcessor>(chosen, {
    action: "created",
    name: (p) => p.definition.name,
    file: (p) => p.file,
    run: async ({ definition: written }) => {
      const definition =
        parallelism === undefined
          ? written
          : { ...written, options: { ...(written.options ?? {}), parallelism } };
      try {
        await remote.client.createProcessor(remote.workspace, definition);
        return undefined;
      } catch (error) {
        if ((error as ApiError).status !== 409) throw error;
        // It exists. Stopped (or never started, or failed): the file replaces its definition in place,
        // as the seed `sp` tool's delete-then-create would, but keeping its checkpoint. Running: refused.
        const existing = await remote.client.getProcessor(remote.workspace, definition.name);
        if (existing.state === "STARTED" && !replace) throw error;
        const { pipeline, options } = definition;
        if (sameDefinition(existing, definition)) return { action: "unchanged" };
        await remote.client.modifyProcessor(remote.workspace, definition.name, {
          pipeline,
          options: options ?? {},
        });
        return replace
          ? { action: "updated" }
          : { action: "replaced", note: `it was ${existing.state.toLowerCase()}` };
      }
    },
    hint: (p, error) => {
      if (error.status === 409) {
        return (
          `it is running: stop it first (sp processors stop --processor ${p.definition.name}), then create ` +
          `again to replace it; to start over: sp processors drop --processor ${p.definition.name}`
        );
      }
      if (error.status === 400 && /connection/i.test(error.message)) {
        return `deploy the workspace's connections first: sp workspaces connections create (then sp workspaces connections list)`;
      }
      return undefined;
    },
  });
  return reportOutcomes(remote, "processor", outcomes);
}

/** `--parallelism N`: sets `options.parallelism` on every processor created. */
function parallelismFlag(remote: Remote): number | undefined {
  const raw = remote.parsed.options.get("parallelism");
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--parallelism expects a whole number ≥ 1, got '${raw}'`);
  return n;
}

async function listProcessors(remote: Remote): Promise<number> {
  const processors = await remote.client.listProcessors(remote.workspace);
  const { io } = remote;
  if (remote.json) {
    io.stdout.write(JSON.stringify({ workspace: remote.workspace, results: processors }) + "\n");
    return EXIT.ok;
  }
  if (processors.length === 0) {
    io.stdout.write(
      `no processors in workspace '${remote.workspace}' — deploy processors/*.json with: sp processors create\n`,
    );
    return EXIT.ok;
  }
  const now = Date.now();
  const rows = processors.map((p) => [
    p.name,
    stateLabel(p),
    formatAge(p.lastStateChange, now),
    String(p.status?.restarts ?? 0),
    p.errorMsg ?? p.status?.error?.message ?? "",
  ]);
  io.stdout.write(
    formatTable(
      [
        { header: "NAME" },
        { header: "STATE" },
        { header: "SINCE" },
        { header: "RESTARTS", align: "right" },
        { header: "ERROR", shrink: true },
      ],
      rows,
      { width: terminalWidth(io.stdout) },
    ),
  );
  return EXIT.ok;
}

async function startProcessors(remote: Remote, only: string | undefined): Promise<number> {
  const targets = await targetsOf(
    remote,
    only,
    (p) => p.state !== "STARTED",
    "all processors are already started",
  );
  if (typeof targets === "number") return targets;
  return reportOutcomes(remote, "processor", await runEach(targets, startStep(remote, "started")));
}

async function stopProcessors(remote: Remote, only: string | undefined): Promise<number> {
  const targets = await targetsOf(remote, only, (p) => p.state === "STARTED", "no processor is running");
  if (typeof targets === "number") return targets;
  const outcomes = await runEach(targets, {
    action: "stopped",
    name: (n) => n,
    run: async (name) => {
      const reply = await remote.client.stopProcessor(remote.workspace, name);
      const note = finalStatsNote(reply?.stats);
      return note ? { note } : undefined;
    },
    hint: (_name, error) =>
      error.status === 409 ? `it is not running: sp processors list shows its state` : undefined,
  });
  return reportOutcomes(remote, "processor", outcomes);
}

async function restartProcessors(remote: Remote, only: string | undefined): Promise<number> {
  const processors = await remote.client.listProcessors(remote.workspace);
  const chosen =
    only === undefined
      ? processors.filter((p) => p.state === "STARTED" || p.state === "FAILED")
      : processors.filter((p) => p.name === only);
  if (only !== undefined && chosen.length === 0) throw notFound(remote, only, processors);
  if (chosen.length === 0) {
    remote.io.stderr.write(`no running or failed processor in workspace '${remote.workspace}' to restart\n`);
    return reportOutcomes(remote, "processor", []);
  }
  const start = startStep(remote, "restarted");
  const files = remote.parsed.flags.has("reload") ? await readProcessorFiles(remote.dir) : undefined;
  const outcomes = await runEach(chosen, {
    ...start,
    name: (p) => p.name,
    file: (p) => files?.find((f) => f.definition.name === p.name)?.file,
    run: async (p) => {
      const file = files?.find((f) => f.definition.name === p.name);
      if (files && !file) {
        throw new CliError(`no processors/*.json in ${remote.dir} defines '${p.name}' to reload`, {
          hint: `restart without --reload, or add its file`,
        });
      }
      if (p.state === "STARTED") await remote.client.stopProcessor(remote.workspace, p.name);
      if (file && !sameDefinition(p, file.definition)) {
        const { pipeline, options } = file.definition;
        await remote.client.modifyProcessor(remote.workspace, p.name, { pipeline, options: options ?? {} });
        await start.run(p.name);
        return { note: `reloaded from ${file.file}` };
      }
      return start.run(p.name);
    },
    hint: (p, error) => start.hint?.(p.name, error),
  });
  return reportOutcomes(remote, "processor", outcomes);
}

async function dropProcessors(remote: Remote, only: string | undefined): Promise<number> {
  if (only === undefined && !remote.parsed.flags.has("all")) {
    throw new UsageError(
      "drop deletes a processor and all its state: name it with --processor NAME, or pass --all to drop every processor of the workspace",
    );
  }
  const targets = await targetsOf(remote, only, () => true, "the workspace has no processors");
  if (typeof targets === "number") return targets;
  const outcomes = await runEach(targets, {
    action: "dropped",
    name: (n) => n,
    run: async (name) => {
      const reply = await remote.client.dropProcessor(remote.workspace, name);
      const note = reply.kafka ? describeKafkaDrop(reply.kafka) : "";
      return note ? { note } : undefined;
    },
  });
  return reportOutcomes(remote, "processor", outcomes);
}

function startStep(remote: Remote, action: string) {
  const options: StartOptions = {
    ...(remote.parsed.flags.has("no-resume") ? { resumeFromCheckpoint: false } : {}),
    ...(remote.parsed.options.has("start-at-operation-time")
      ? { startAtOperationTime: remote.parsed.options.get("start-at-operation-time") }
      : {}),
  };
  return {
    action,
    name: (n: string) => n,
    run: async (name: string): Promise<StepResult | void> => {
      try {
        await remote.client.startProcessor(remote.workspace, name, options);
      } catch (error) {
        throw await withVariableFiles(remote, error);
      }
    },
    hint: (name: string, error: ApiError): string | undefined => {
      if (error.is("PROCESSOR_ALREADY_STARTED")) {
        return `it is running; to restart it: sp processors restart --processor ${name}`;
      }
      if (error.is("MISSING_VARIABLE")) {
        return `set the variable where sp serve runs (its environment, or .env / config.txt in its --env-dir), then start again`;
      }
      if (error.status === 409) return `check its state with sp processors list`;
      if (error.status === 400 && /connection/i.test(error.message)) {
        return `deploy the workspace's connections: sp workspaces connections create`;
      }
      return undefined;
    },
  };
}

/**
 * The processor names an action applies to: `only`, or every processor of the workspace that `wanted`
 * keeps. Returns an exit code instead when there is nothing to do.
 */
async function targetsOf(
  remote: Remote,
  only: string | undefined,
  wanted: (p: Processor) => boolean,
  nothingToDo: string,
): Promise<string[] | number> {
  if (only !== undefined) return [only];
  const processors = await remote.client.listProcessors(remote.workspace);
  if (processors.length === 0) {
    remote.io.stderr.write(
      `no processors in workspace '${remote.workspace}' — deploy processors/*.json with: sp processors create\n`,
    );
    return remote.json ? reportOutcomes(remote, "processor", []) : EXIT.ok;
  }
  const names = processors.filter(wanted).map((p) => p.name);
  if (names.length === 0) {
    remote.io.stderr.write(`${nothingToDo} (workspace '${remote.workspace}')\n`);
    return remote.json ? reportOutcomes(remote, "processor", []) : EXIT.ok;
  }
  return names;
}

/** A start error about a `{{VAR}}` the server could not resolve: adds which local files use it. */
async function withVariableFiles(remote: Remote, error: unknown): Promise<unknown> {
  if (!(error instanceof CliError)) return error;
  const variable = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/.exec(error.message)?.[1];
  if (!variable) return error;
  const files = await filesUsingVariable(remote.dir, variable);
  if (files.length === 0) return error;
  error.message += ` ({{${variable}}} appears in ${files.join(", ")})`;
  return error;
}

function notFound(remote: Remote, name: string, processors: readonly Processor[]): CliError {
  const known = processors.map((p) => p.name).join(", ") || "none";
  return new CliError(`no processor named '${name}' in workspace '${remote.workspace}' (it has: ${known})`, {
    hint: `deploy it from the workspace folder: sp processors create --processor ${name}`,
  });
}

/** The server's processor has the file's pipeline and options already (compared as JSON). */
function sameDefinition(existing: Processor, definition: ProcessorDefinition): boolean {
  return (
    canonicalJson(existing.pipeline) === canonicalJson(definition.pipeline) &&
    canonicalJson(existing.options ?? {}) === canonicalJson(definition.options ?? {})
  );
}

function finalStatsNote(stats: unknown): string | undefined {
  if (typeof stats !== "object" || stats === null) return undefined;
  const s = stats as { inputMessageCount?: unknown; outputMessageCount?: unknown; dlqMessageCount?: unknown };
  if (typeof s.inputMessageCount !== "number") return undefined;
  return `${s.inputMessageCount} in, ${String(s.outputMessageCount ?? 0)} out, ${String(s.dlqMessageCount ?? 0)} to the DLQ`;
}

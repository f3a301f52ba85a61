import { processIo, type CliIo, type Command } from "./io.ts";
import { USAGE } from "./commands/help.ts";
import { capYoungGeneration } from "./young-generation.ts";

/** Command name → loader; each command lives in src/cli/commands/<name>.ts and is imported only when used. */
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  process: async () => (await import("./commands/process.ts")).processCommand,
  lint: async () => (await import("./commands/lint.ts")).lintCommand as Command,
  test: async () => (await import("./commands/test.ts")).testCommand,
  schema: async () => (await import("./commands/schema.ts")).schemaCommand as Command,
  demo: async () => (await import("./commands/demo.ts")).demoCommand,
  help: async () => (await import("./commands/help.ts")).helpCommand,
  serve: async () => (await import("./commands/serve.ts")).serveCommand,
  workspaces: async () => (await import("./commands/workspaces.ts")).workspacesCommand,
  // The seed `sp` tool's spellings (../shared/asp-corpus/README.md, "Target 1"): docs/cli.md "Aliases".
  workspace: async () => (await import("./commands/workspaces.ts")).workspacesCommand,
  instances: async () => (await import("./commands/workspaces.ts")).workspacesCommand,
  create: async () => (await import("./commands/create-alias.ts")).createAlias,
  processors: async () => (await import("./commands/processors.ts")).processorsCommand,
  list: async () => (await import("./commands/processors.ts")).processorsShortcut("list"),
  start: async () => (await import("./commands/processors.ts")).processorsShortcut("start"),
  stop: async () => (await import("./commands/processors.ts")).processorsShortcut("stop"),
  restart: async () => (await import("./commands/processors.ts")).processorsShortcut("restart"),
  stats: async () => (await import("./commands/processors.ts")).processorsShortcut("stats"),
  jobs: async () => (await import("./commands/jobs.ts")).jobsCommand,
  migrate: async () => (await import("./commands/migrate.ts")).migrateCommand,
  validate: async () => (await import("./commands/validate.ts")).validateCommand,
};

/** Entry point of the `sp` command (bin/sp.js); returns the exit code. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "--help" || name === "-h") {
    io.stdout.write(USAGE + "\n");
    return name === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    io.stderr.write(`sp: unknown command '${name}'\n\n${USAGE}\n`);
    return 2;
  }
  const command = await load();
  return command(args, io);
}

/**
 * Starts loading a command's module without running it: bin/sp.js does this while it checks, in a git
 * checkout, that dist/ is current, so the two overlap (`main` then finds the module loaded).
 */
export function preload(argv: readonly string[]): void {
  const [name] = argv;
  const load = name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  load?.().catch(() => {}); // a module that fails to load fails again, with its message, in `main`
}

/**
 * Process-wide settings for a command run as the `sp` program (bin/sp.js calls this before `main`; tests
 * that call `main` in their own process do not): `sp process` keeps V8's young generation small, so its
 * memory stays near a plain loop's on any input length (docs/performance.md).
 */
export function tuneProcess(argv: readonly string[]): void {
  if (argv[0] === "process") capYoungGeneration();
}

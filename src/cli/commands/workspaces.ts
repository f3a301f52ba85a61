/** `sp workspaces list|create|delete|init` and `sp workspaces connections …`. */
import { resolve } from "node:path";
import { UsageError } from "../args.ts";
import { EXIT, reportError } from "../errors.ts";
import { formatTimestamp } from "../format.ts";
import type { CliIo } from "../io.ts";
import { reportOutcomes, runEach } from "../outcomes.ts";
import { REMOTE_OPTIONS_HELP, remoteContext, type Remote } from "../remote.ts";
import { formatTable, terminalWidth } from "../table.ts";
import { initWorkspaceFolder } from "../workspace-init.ts";
import { connectionsCommand } from "./connections.ts";

export const WORKSPACES_USAGE = `usage: sp workspaces <action> [options]

  list                   the server's workspaces (\`default\` always exists)
  create NAME            a new, empty workspace
  delete NAME            delete a workspace with its connections and processors (none may be running)
  init DIR               write a starter workspace folder: connections/ and processors/ with examples
  connections create|list|delete
                         the workspace's connection registry (sp workspaces connections --help)

${REMOTE_OPTIONS_HELP}`;

const ACTIONS = ["list", "create", "delete", "init", "connections"] as const;

export async function workspacesCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [action, ...rest] = args;
  if (action === undefined || action === "--help" || action === "-h" || action === "help") {
    io.stdout.write(WORKSPACES_USAGE + "\n");
    return action === undefined ? EXIT.usage : EXIT.ok;
  }
  if (action === "connections") return connectionsCommand(rest, io);
  if (!(ACTIONS as readonly string[]).includes(action)) {
    io.stderr.write(`sp workspaces: unknown action '${action}'; expected one of ${ACTIONS.join(", ")}\n`);
    return EXIT.usage;
  }
  try {
    const remote = await remoteContext(rest, io);
    if (remote.parsed.flags.has("help")) {
      io.stdout.write(WORKSPACES_USAGE + "\n");
      return EXIT.ok;
    }
    if (action === "list") return await listWorkspaces(remote);
    if (action === "init") return await init(remote);
    const name = remote.parsed.positional[0] ?? remote.parsed.options.get("workspace");
    if (name === undefined)
      throw new UsageError(`${action} needs the workspace's name: sp workspaces ${action} NAME`);
    return await (action === "create" ? createWorkspace(remote, name) : deleteWorkspace(remote, name));
  } catch (error) {
    return reportError(error, io, false);
  }
}

async function listWorkspaces(remote: Remote): Promise<number> {
  const workspaces = await remote.client.listWorkspaces();
  const { io } = remote;
  if (remote.json) {
    io.stdout.write(JSON.stringify({ results: workspaces }) + "\n");
    return EXIT.ok;
  }
  const count = (value: unknown): string =>
    Array.isArray(value) ? String(value.length) : typeof value === "number" ? String(value) : "-";
  io.stdout.write(
    formatTable(
      [
        { header: "NAME" },
        { header: "CONNECTIONS", align: "right" },
        { header: "PROCESSORS", align: "right" },
        { header: "CREATED (UTC)" },
      ],
      workspaces.map((w) => [
        w.name,
        count(w.connections),
        count(w.processors),
        formatTimestamp(w.createdAt),
      ]),
      { width: terminalWidth(io.stdout) },
    ),
  );
  return EXIT.ok;
}

async function createWorkspace(remote: Remote, name: string): Promise<number> {
  const outcomes = await runEach([name], {
    action: "created",
    name: (n) => n,
    run: async (n) => void (await remote.client.createWorkspace(n)),
    hint: (n, error) =>
      error.status === 409
        ? `it already exists; use it with --workspace ${n} (sp workspaces list shows them all)`
        : undefined,
  });
  return reportOutcomes(remote, "workspace", outcomes);
}

async function deleteWorkspace(remote: Remote, name: string): Promise<number> {
  const outcomes = await runEach([name], {
    action: "deleted",
    name: (n) => n,
    run: async (n) => void (await remote.client.deleteWorkspace(n)),
    hint: (n, error) =>
      error.status === 409
        ? `stop its processors first: sp processors stop --workspace ${n}`
        : error.status === 404
          ? `sp workspaces list shows the workspaces there are`
          : undefined,
  });
  return reportOutcomes(remote, "workspace", outcomes);
}

async function init(remote: Remote): Promise<number> {
  const target = remote.parsed.positional[0] ?? remote.parsed.options.get("dir");
  if (target === undefined) throw new UsageError("init needs a folder: sp workspaces init DIR");
  const dir = resolve(target);
  const files = await initWorkspaceFolder(dir);
  if (remote.json) {
    remote.io.stdout.write(JSON.stringify({ dir, files }) + "\n");
    return EXIT.ok;
  }
  remote.io.stdout.write(
    `wrote ${files.length} files into ${target}:\n${files.map((f) => `  ${f}\n`).join("")}` +
      `next: read ${target}/README.md, then\n` +
      `  sp serve &   # in another terminal\n` +
      `  sp workspaces connections create --dir ${target}\n` +
      `  sp processors create --dir ${target}\n` +
      `  sp start --processor solarToLog\n`,
  );
  return EXIT.ok;
}

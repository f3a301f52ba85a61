/** `sp workspaces connections create|list|delete`: a workspace's connection registry. */
import { UsageError } from "../args.ts";
import type { Connection, JsonObject } from "../client.ts";
import { canonicalJson } from "../format.ts";
import { parseConnections } from "../../connectors/connections.ts";
import { hideConnectionSecrets } from "../../control/connection-secrets.ts";
import { CliError, EXIT, reportError } from "../errors.ts";
import type { CliIo } from "../io.ts";
import { reportOutcomes, runEach } from "../outcomes.ts";
import { REMOTE_OPTIONS_HELP, remoteContext, type Remote } from "../remote.ts";
import { formatTable, terminalWidth } from "../table.ts";
import { readConnectionFiles, type FolderConnection } from "../workspace-folder.ts";

export const CONNECTIONS_USAGE = `usage: sp workspaces connections <action> [options]

Manages the connection registry of a server workspace:
  create [--connection NAME] [--replace]
            deploy every connection of the workspace folder's connections/*.json
            ({"connections": [{name, type, config}]}; {{VAR}} placeholders are sent as written and
            resolved by the server when a processor starts); --replace deletes and re-creates
            connections that already exist (no running processor may use them)
  list      the workspace's connections (secrets redacted by the server)
  delete NAME
            remove a connection (no running processor may use it)

${REMOTE_OPTIONS_HELP}`;

const ACTIONS = ["create", "list", "delete"] as const;

export async function connectionsCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [action, ...rest] = args;
  if (action === undefined || action === "--help" || action === "-h" || action === "help") {
    io.stdout.write(CONNECTIONS_USAGE + "\n");
    return action === undefined ? EXIT.usage : EXIT.ok;
  }
  if (!(ACTIONS as readonly string[]).includes(action)) {
    io.stderr.write(
      `sp workspaces connections: unknown action '${action}'; expected one of ${ACTIONS.join(", ")}\n`,
    );
    return EXIT.usage;
  }
  try {
    const remote = await remoteContext(rest, io, { valued: ["connection"], flags: ["replace"] });
    if (remote.parsed.flags.has("help")) {
      io.stdout.write(CONNECTIONS_USAGE + "\n");
      return EXIT.ok;
    }
    const name = remote.parsed.options.get("connection") ?? remote.parsed.positional[0];
    if (action === "create") return await createConnections(remote, name);
    if (action === "list") return await listConnections(remote);
    if (name === undefined)
      throw new UsageError("delete needs the connection's name: sp workspaces connections delete NAME");
    return await deleteConnection(remote, name);
  } catch (error) {
    return reportError(error, io, false);
  }
}

async function createConnections(remote: Remote, only: string | undefined): Promise<number> {
  const all = await readConnectionFiles(remote.dir);
  const chosen = only === undefined ? all : all.filter((c) => c.name === only);
  if (chosen.length === 0) {
    throw new CliError(`no connections/*.json in ${remote.dir} defines a connection named '${only}'`, {
      exitCode: EXIT.usage,
      hint: `connections there: ${all.map((c) => c.name).join(", ")}`,
    });
  }
  const replace = remote.parsed.flags.has("replace");
  const outcomes = await runEach<FolderConnection>(chosen, {
    action: "created",
    name: (c) => c.name,
    file: (c) => c.file,
    run: async (c) => {
      try {
        await remote.client.createConnection(remote.workspace, c.body);
        return undefined;
      } catch (error) {
        if ((error as { status?: number }).status !== 409) throw error;
        if (!replace) {
          // Deploying the same folder again is not an error: the seed `sp` tool's routine does it.
          const deployed = (await remote.client.listConnections(remote.workspace)).find(
            (d) => d.name === c.name,
          );
          if (deployed && sameConnection(deployed, c.body)) return { action: "unchanged" };
          throw error;
        }
        await remote.client.deleteConnection(remote.workspace, c.name);
        await remote.client.createConnection(remote.workspace, c.body);
        return { action: "replaced" };
      }
    },
    hint: (c, error) => {
      if (error.status === 409 && !replace) {
        return `it is deployed with other settings; to change it: sp workspaces connections create --connection ${c.name} --replace`;
      }
      if (error.status === 409) {
        return `stop the processors that use it first (sp processors stop), then try again`;
      }
      if (error.status === 404) return `create the workspace first: sp workspaces create ${remote.workspace}`;
      return undefined;
    },
  });
  return reportOutcomes(remote, "connection", outcomes);
}

async function listConnections(remote: Remote): Promise<number> {
  const connections = await remote.client.listConnections(remote.workspace);
  const { io } = remote;
  if (remote.json) {
    io.stdout.write(JSON.stringify({ workspace: remote.workspace, results: connections }) + "\n");
    return EXIT.ok;
  }
  if (connections.length === 0) {
    io.stdout.write(
      `no connections in workspace '${remote.workspace}' — deploy connections/*.json with: sp workspaces connections create\n`,
    );
    return EXIT.ok;
  }
  io.stdout.write(
    formatTable(
      [{ header: "NAME" }, { header: "TYPE" }, { header: "DETAILS", shrink: true }],
      connections.map((c) => [c.name, c.type, details(c)]),
      { width: terminalWidth(io.stdout) },
    ),
  );
  return EXIT.ok;
}

async function deleteConnection(remote: Remote, name: string): Promise<number> {
  const outcomes = await runEach([name], {
    action: "deleted",
    name: (n) => n,
    run: async (n) => void (await remote.client.deleteConnection(remote.workspace, n)),
    hint: (_n, error) =>
      error.status === 409
        ? `a running processor uses it: stop it first (sp processors stop --processor NAME)`
        : error.status === 404
          ? `see sp workspaces connections list --workspace ${remote.workspace}`
          : undefined,
  });
  return reportOutcomes(remote, "connection", outcomes);
}

/**
 * The deployed connection is the local one: both read as `{name, type, config}` and compared with secrets
 * hidden, as the server lists them (without the metadata it adds). A change only to a literal secret's value is not visible this way
 * (use `--replace`); `{{VAR}}` placeholders are compared as written.
 */
function sameConnection(deployed: Connection, local: JsonObject): boolean {
  const normal = (value: unknown): string | undefined => {
    try {
      return canonicalJson(hideConnectionSecrets(parseConnections([value])[0]));
    } catch {
      return undefined;
    }
  };
  const { workspace: _w, createdAt: _c, updatedAt: _u, lastModified: _l, id: _i, ...entry } = deployed;
  const a = normal(entry);
  return a !== undefined && a === normal(local);
}

/** The setting that identifies where a connection points (secrets come back redacted from the server). */
function details(connection: Connection): string {
  const config = (
    typeof connection.config === "object" && connection.config !== null ? connection.config : {}
  ) as Record<string, unknown>;
  const settings: Record<string, unknown> = { ...connection, ...config };
  for (const key of ["bootstrapServers", "uri", "url", "path", "clusterName"]) {
    if (typeof settings[key] === "string") return `${key}=${settings[key]}`;
  }
  return "";
}

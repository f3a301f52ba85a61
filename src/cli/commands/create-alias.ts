/** `sp create connections|processors`: the seed \`sp\` tool's spelling of the two deploy commands. */
import { EXIT } from "../errors.ts";
import type { CliIo } from "../io.ts";
import { connectionsCommand } from "./connections.ts";
import { processorsCommand } from "./processors.ts";

const USAGE = `usage: sp create connections|processors [options]

  connections  = sp workspaces connections create
  processors   = sp processors create`;

export async function createAlias(args: readonly string[], io: CliIo): Promise<number> {
  const [what, ...rest] = args;
  if (what === "connections" || what === "connection") return connectionsCommand(["create", ...rest], io);
  if (what === "processors" || what === "processor") return processorsCommand(["create", ...rest], io);
  if (what === "--help" || what === "-h") {
    io.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  io.stderr.write(
    `sp create: expected connections or processors${what === undefined ? "" : `, got '${what}'`}\n${USAGE}\n`,
  );
  return EXIT.usage;
}

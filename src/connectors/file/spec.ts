/** File (Eddy extension): a JSON Lines file, or stdin, read by `$source`. */
import { defineConnector } from "../spec.ts";
import { requireStringSetting } from "../setting-checks.ts";
import { UnavailableConnectorError } from "../errors.ts";

export const file = defineConnector<Record<string, never>>({
  type: "File",
  aliases: ["file"],
  description: "Eddy extension: a JSON Lines file (or stdin) as `$source`.",
  connection: {
    properties: { path: { type: "string", description: 'The file to read; "-" reads stdin.' } },
    required: ["path"],
  },
  checkConnection: (connection) =>
    requireStringSetting(
      connection,
      "path",
      'a File connection needs path, a JSON Lines file (or "-" for stdin)',
    ),
  source: {
    fields: { properties: {} },
    plan: () => ({ options: {} }),
  },
  async openSource(source, ctx) {
    const path = ctx.settings.path;
    if (typeof path !== "string") {
      throw new UnavailableConnectorError(
        `connection '${source.connectionName}' needs config.path (a file name, or "-" for stdin)`,
      );
    }
    const { FileSource } = await import("./source.ts");
    const line = ctx.positions.line;
    return new FileSource(path === "-" ? ctx.stdin : path, {
      line: typeof line === "number" ? line : undefined,
    });
  },
});

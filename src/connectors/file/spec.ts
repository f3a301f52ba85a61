/** File (Eddy extension): a JSON Lines file, or stdin, read by `$source`. */
import { defineConnector } from "../spec.ts";
import { requireStringSetting, typeName } from "../setting-checks.ts";
import type { ConnectionSettings, SettingProblem } from "../../pipeline/connector-specs.ts";
import { UnavailableConnectorError } from "../errors.ts";

export const file = defineConnector<Record<string, never>>({
  type: "File",
  aliases: ["file"],
  description: "Eddy extension: a JSON Lines file (or stdin) as `$source`.",
  connection: {
    properties: {
      path: { type: "string", description: 'The file to read; "-" reads stdin.' },
      maxLineBytes: {
        type: "integer",
        minimum: 1,
        description: "Longest line accepted, in bytes (default 16777216); a longer one goes to the DLQ.",
      },
      invalidUtf8: {
        enum: ["dlq", "replace"],
        description:
          'A line that is not UTF-8: "dlq" (default) dead-letters it, "replace" reads it with U+FFFD.',
      },
    },
    required: ["path"],
  },
  fileSetting: "path",
  checkConnection: (connection) => [
    ...requireStringSetting(
      connection,
      "path",
      'a File connection needs path, a JSON Lines file (or "-" for stdin)',
    ),
    ...fileSettingProblems(connection),
  ],
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
    const { FileSource, fileSourceSettings } = await import("./source.ts");
    return new FileSource(path === "-" ? ctx.stdin : path, {
      ...fileSourceSettings(ctx.settings),
      resumeFrom: ctx.positions,
    });
  },
});

function fileSettingProblems({ settings, pathOf }: ConnectionSettings): SettingProblem[] {
  const problems: SettingProblem[] = [];
  const max = settings.maxLineBytes;
  if (max !== undefined && !(typeof max === "number" && Number.isInteger(max) && max > 0)) {
    problems.push({
      path: pathOf("maxLineBytes"),
      message: "maxLineBytes is the longest line accepted, in bytes (default 16777216)",
      expected: "positive integer",
      got: typeof max === "number" ? String(max) : typeName(max),
    });
  }
  const utf8 = settings.invalidUtf8;
  if (utf8 !== undefined && utf8 !== "dlq" && utf8 !== "replace") {
    problems.push({
      path: pathOf("invalidUtf8"),
      message:
        'invalidUtf8 says what happens to a line that is not UTF-8: "dlq" (the default) or "replace" (U+FFFD)',
      expected: '"dlq" or "replace"',
      got: typeof utf8 === "string" ? JSON.stringify(utf8) : typeName(utf8),
    });
  }
  return problems;
}

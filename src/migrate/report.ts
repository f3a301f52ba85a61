/** MIGRATION.md: what was converted, into what, and what the user must check before cutting over. */
import type { Conversion, ConvertedTrigger } from "./convert.ts";

const STATUS_TEXT: Readonly<Record<ConvertedTrigger["status"], string>> = {
  converted: "converted",
  "needs-review": "converted, needs review",
  "not-convertible": "not convertible",
};

export function migrationReport(
  conversion: Conversion,
  exportDir: string,
  lintProblems: ReadonlyMap<string, readonly string[]>,
): string {
  const lines: string[] = [
    "# Migration from Atlas Triggers",
    "",
    `Converted from \`${exportDir}\` by \`sp migrate triggers\`. Function bodies are code that Eddy does not run:`,
    "each processor replaces its function with a sink, and the notes below say what to compare.",
    "Next steps: docs/migrating-from-triggers.md (parallel run, `sp validate`, cut over per collection, roll back).",
    "",
    "| trigger | type | status | processor | instead of the function |",
    "|---|---|---|---|---|",
  ];
  for (const item of conversion.triggers) {
    const file = item.processor ? `processors/${String(item.processor.name)}.json` : "—";
    lines.push(
      `| ${item.trigger.name} | ${item.trigger.type} | ${STATUS_TEXT[item.status]} | ${file} | ${item.replacement} |`,
    );
  }
  lines.push("");
  for (const item of conversion.triggers) {
    lines.push(`## ${item.trigger.name}`, "");
    lines.push(
      `- source: \`${item.trigger.file}\`${item.func ? `, function \`${item.func.file}\` (copied to \`functions/\`)` : ""}`,
    );
    lines.push(`- status: ${STATUS_TEXT[item.status]}`);
    if (item.processor)
      lines.push(`- processor: \`processors/${String(item.processor.name)}.json\` — ${item.replacement}`);
    for (const note of item.notes) lines.push(`- ${note}`);
    for (const problem of lintProblems.get(item.trigger.name) ?? []) lines.push(`- validation: ${problem}`);
    lines.push("");
  }
  lines.push(
    "## Connections",
    "",
    "`connections/connections.json` uses `{{VAR}}` placeholders; set them in the environment or a `.env` file of the workspace:",
    "",
  );
  for (const connection of conversion.connections) {
    const config = JSON.stringify(connection.config);
    lines.push(`- \`${String(connection.name)}\` (${String(connection.type)}): \`${config}\``);
  }
  lines.push("");
  return lines.join("\n");
}

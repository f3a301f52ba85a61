import { parseArgs, UsageError } from "../args.ts";
import { CliError, EXIT, reportError } from "../errors.ts";
import type { CliIo } from "../io.ts";
import { formatTable } from "../table.ts";
import { convertExport } from "../../migrate/convert.ts";
import { ExportError, readAppExport } from "../../migrate/export-reader.ts";
import { OutputNotEmptyError, writeWorkspace } from "../../migrate/write-workspace.ts";

export const MIGRATE_USAGE = `usage: sp migrate triggers EXPORT_DIR --out WORKSPACE_DIR [--postgres CONNECTION_STRING] [--json]

Converts an Atlas App Services export (triggers/*.json and functions/) into an Eddy workspace folder:
one processor per database trigger, connections with {{VAR}} placeholders, the function sources beside
them, and MIGRATION.md, the report of what was converted and what you must check.
  --out DIR        a new or empty folder for the workspace
  --postgres URL   functions that POST a row to a warehouse become a PostgreSQL $emit upsert
                   (e.g. "{{WAREHOUSE_URL}}")
  --mongodb-uri U  the Cluster connection's uri (default "{{MONGODB_URI}}")
  --json           print the conversion as JSON
Exit status: 0 every trigger converted, 1 some need review or cannot be converted, 2 usage error.`;

/** `sp migrate triggers EXPORT_DIR --out DIR`. */
export async function migrateCommand(args: readonly string[], io: CliIo): Promise<number> {
  let exportDir: string;
  let out: string;
  let parsed;
  try {
    parsed = parseArgs(args, { valued: ["out", "postgres", "mongodb-uri"], flags: ["json", "help"] });
    if (parsed.flags.has("help")) {
      io.stdout.write(`${MIGRATE_USAGE}\n`);
      return 0;
    }
    const [sub, dir, ...rest] = parsed.positional;
    if (sub !== "triggers")
      throw new UsageError(
        `unknown migrate command '${sub ?? ""}'; use: sp migrate triggers EXPORT_DIR --out DIR`,
      );
    if (dir === undefined || rest.length > 0) throw new UsageError("migrate triggers needs one EXPORT_DIR");
    const target = parsed.options.get("out");
    if (target === undefined) throw new UsageError("migrate triggers needs --out WORKSPACE_DIR");
    [exportDir, out] = [dir, target];
  } catch (error) {
    io.stderr.write(`sp migrate: ${(error as Error).message}\n${MIGRATE_USAGE}\n`);
    return EXIT.usage;
  }
  try {
    const app = await readAppExport(exportDir);
    const conversion = convertExport(app, {
      postgres: parsed.options.get("postgres"),
      mongodbUri: parsed.options.get("mongodb-uri"),
    });
    const written = await writeWorkspace(conversion, exportDir, out);
    const rows = conversion.triggers.map((item) => ({
      trigger: item.trigger.name,
      type: item.trigger.type,
      status: written.lintProblems.has(item.trigger.name) ? "needs-review" : item.status,
      processor: item.processor ? `processors/${String(item.processor.name)}.json` : null,
      replacement: item.replacement,
      notes: [...item.notes, ...(written.lintProblems.get(item.trigger.name) ?? [])],
    }));
    if (parsed.flags.has("json")) {
      io.stdout.write(
        `${JSON.stringify({ out, triggers: rows, skipped: app.problems, files: written.files }, null, 2)}\n`,
      );
    } else {
      io.stdout.write(
        formatTable(
          [
            { header: "TRIGGER" },
            { header: "TYPE" },
            { header: "STATUS" },
            { header: "PROCESSOR", shrink: true },
          ],
          rows.map((r) => [r.trigger, r.type, r.status, r.processor ?? "—"]),
        ),
      );
      for (const problem of app.problems) io.stdout.write(`skipped ${problem.file}: ${problem.message}\n`);
      io.stdout.write(
        `wrote ${written.files.length} files to ${out}; read ${out}/MIGRATION.md before deploying\n`,
      );
    }
    return rows.every((r) => r.status === "converted") && app.problems.length === 0 ? EXIT.ok : EXIT.failed;
  } catch (error) {
    if (error instanceof ExportError || error instanceof OutputNotEmptyError)
      return reportError(new CliError(error.message, { exitCode: EXIT.usage }), io, false);
    return reportError(error, io, false);
  }
}

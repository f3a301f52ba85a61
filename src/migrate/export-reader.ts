/**
 * Reads an Atlas App Services export (the `realm-cli pull` / `appservices pull` layout): `triggers/*.json`
 * and the function sources under `functions/` (`functions/<name>.js` or `functions/<name>/source.js`).
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { isPlainObject } from "../mql/bson-types.ts";
import type { Doc } from "../mql/index.ts";

export type TriggerType = "DATABASE" | "SCHEDULED" | "AUTHENTICATION";

export interface ExportedTrigger {
  /** The file, relative to the export folder. */
  readonly file: string;
  readonly name: string;
  readonly type: TriggerType | string;
  readonly disabled: boolean;
  readonly config: Doc;
  /** The function it calls (`event_processors.FUNCTION.config.function_name`, or the older `function_name`). */
  readonly functionName: string | undefined;
  /** Event processors other than FUNCTION (e.g. `AWS_EVENTBRIDGE`). */
  readonly otherProcessors: readonly string[];
}

export interface ExportedFunction {
  readonly name: string;
  /** Relative path of the source file. */
  readonly file: string;
  readonly source: string;
}

export interface AppExport {
  readonly triggers: readonly ExportedTrigger[];
  readonly functions: ReadonlyMap<string, ExportedFunction>;
  /** Files that could not be read as triggers, with the reason. */
  readonly problems: readonly { readonly file: string; readonly message: string }[];
}

export class ExportError extends Error {
  override readonly name = "ExportError";
}

export async function readAppExport(dir: string): Promise<AppExport> {
  const triggerDir = join(dir, "triggers");
  if (!(await isDirectory(triggerDir)))
    throw new ExportError(`${dir} has no triggers/ folder; point at the root of an App Services export`);
  const problems: { file: string; message: string }[] = [];
  const triggers: ExportedTrigger[] = [];
  for (const name of (await readdir(triggerDir)).filter((f) => f.endsWith(".json")).sort()) {
    const file = join("triggers", name);
    let value: unknown;
    try {
      value = JSON.parse(await readFile(join(dir, file), "utf8"));
    } catch (error) {
      problems.push({ file, message: `not valid JSON: ${(error as Error).message}` });
      continue;
    }
    const trigger = toTrigger(value, file);
    if (typeof trigger === "string") problems.push({ file, message: trigger });
    else triggers.push(trigger);
  }
  return { triggers, functions: await readFunctions(join(dir, "functions")), problems };
}

function toTrigger(value: unknown, file: string): ExportedTrigger | string {
  if (!isPlainObject(value)) return "a trigger file must hold one JSON object";
  if (typeof value.name !== "string" || value.name === "") return "the trigger has no name";
  if (typeof value.type !== "string")
    return "the trigger has no type (DATABASE, SCHEDULED or AUTHENTICATION)";
  const processors = isPlainObject(value.event_processors) ? value.event_processors : {};
  const fn = isPlainObject(processors.FUNCTION) ? processors.FUNCTION : undefined;
  const fnConfig = fn && isPlainObject(fn.config) ? fn.config : {};
  const functionName =
    typeof fnConfig.function_name === "string"
      ? fnConfig.function_name
      : typeof value.function_name === "string"
        ? value.function_name
        : undefined;
  return {
    file,
    name: value.name,
    type: value.type.toUpperCase(),
    disabled: value.disabled === true,
    config: isPlainObject(value.config) ? value.config : {},
    functionName,
    otherProcessors: Object.keys(processors).filter((key) => key !== "FUNCTION"),
  };
}

async function readFunctions(dir: string): Promise<Map<string, ExportedFunction>> {
  const functions = new Map<string, ExportedFunction>();
  if (!(await isDirectory(dir))) return functions;
  const walk = async (sub: string): Promise<void> => {
    for (const entry of (await readdir(join(dir, sub), { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const rel = sub === "" ? entry.name : `${sub}/${entry.name}`;
      if (entry.isDirectory()) {
        await walk(rel);
      } else if (entry.name.endsWith(".js")) {
        // `functions/a/b.js` is function `a/b`; the older layout keeps `functions/<name>/source.js`.
        const name = entry.name === "source.js" && sub !== "" ? sub : rel.replace(/\.js$/, "");
        functions.set(name, {
          name,
          file: join("functions", rel),
          source: await readFile(join(dir, rel), "utf8"),
        });
      }
    }
  };
  await walk("");
  return functions;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

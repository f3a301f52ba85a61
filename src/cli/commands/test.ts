import { watch } from "node:fs";
import { relative } from "node:path";
import { parseArgs, UsageError } from "../args.ts";
import type { CliIo } from "../io.ts";
import { stringifyExtendedJson } from "../../codec/ejson.ts";
import { findTestFiles, runTestFile, type FileResult } from "../../testing/index.ts";

export const TEST_USAGE = `usage: sp test [PATH ...] [--case TEXT] [--json] [--watch]

Runs processor test files (<processor>.test.json next to <processor>.json; folders are searched for
*.test.json, default the current folder) through the real planner and runtime with virtual time: no
servers, no waiting. docs/testing-processors.md describes the file format.
  --case TEXT  run only the cases whose name contains TEXT
  --json       one JSON document with every file's and case's result on stdout
  --watch      run again whenever a file under the paths changes (Ctrl-C to stop)
Exit status: 0 all cases passed, 1 a case failed or a test file is invalid, 2 usage error.`;

/** `sp test`: runs test files; exit 0 when every case passed. */
export async function testCommand(
  args: readonly string[],
  io: Pick<CliIo, "stdout" | "stderr">,
): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(args, { valued: ["case"], flags: ["json", "watch", "help"] });
  } catch (error) {
    io.stderr.write(`sp test: ${(error as UsageError).message}\n${TEST_USAGE}\n`);
    return 2;
  }
  if (parsed.flags.has("help")) {
    io.stdout.write(`${TEST_USAGE}\n`);
    return 0;
  }
  const caseText = parsed.options.get("case");
  const filter = caseText === undefined ? undefined : (name: string) => name.includes(caseText);
  const json = parsed.flags.has("json");
  const runOnce = async (): Promise<number> => {
    let files: string[];
    try {
      files = await findTestFiles(parsed.positional);
    } catch (error) {
      io.stderr.write(`sp test: ${(error as Error).message}\n`);
      return 2;
    }
    if (files.length === 0) {
      io.stderr.write(`sp test: no *.test.json files under ${parsed.positional.join(", ") || "."}\n`);
      return 1;
    }
    const results: FileResult[] = [];
    for (const file of files) results.push(await runTestFile(file, filter));
    if (json) io.stdout.write(`${stringifyExtendedJson(jsonReport(results))}\n`);
    else io.stdout.write(textReport(results));
    return passed(results) ? 0 : 1;
  };
  if (!parsed.flags.has("watch")) return runOnce();
  return watchAndRun(parsed.positional.length > 0 ? parsed.positional : ["."], runOnce, io);
}

function passed(results: readonly FileResult[]): boolean {
  return results.every((file) => file.error === undefined && file.cases.every((c) => c.passed));
}

function textReport(results: readonly FileResult[]): string {
  const lines: string[] = [];
  let cases = 0;
  let failed = 0;
  for (const file of results) {
    const name = relative(process.cwd(), file.file) || file.file;
    if (file.error !== undefined) {
      failed++;
      lines.push(`FAIL ${name}`, ...indent(file.error.split("\n")));
      continue;
    }
    for (const result of file.cases) {
      cases++;
      if (result.passed) lines.push(`ok   ${name} › ${result.name}`);
      else {
        failed++;
        lines.push(`FAIL ${name} › ${result.name}`, ...indent(result.report));
      }
    }
  }
  const invalid = results.filter((f) => f.error !== undefined).length;
  lines.push(
    "",
    `${cases - (failed - invalid)} of ${cases} cases passed` +
      (invalid > 0 ? `; ${invalid} test file${invalid === 1 ? "" : "s"} invalid` : ""),
  );
  return `${lines.join("\n")}\n`;
}

function indent(lines: readonly string[]): string[] {
  return lines.map((line) => `    ${line}`);
}

function jsonReport(results: readonly FileResult[]): object {
  return {
    ok: passed(results),
    files: results.map((file) => ({
      file: file.file,
      ...(file.error !== undefined ? { error: file.error } : {}),
      cases: file.cases.map((c) => ({
        name: c.name,
        passed: c.passed,
        ...(c.passed ? {} : { report: c.report }),
        ...(c.error !== undefined ? { error: c.error } : {}),
        output: c.output,
        targets: c.targets,
        dlq: c.dlq,
      })),
    })),
  };
}

/** Runs now, then again (debounced) after each change to a JSON file under `paths`, until Ctrl-C. */
async function watchAndRun(
  paths: readonly string[],
  run: () => Promise<number>,
  io: Pick<CliIo, "stdout">,
): Promise<number> {
  let running = Promise.resolve(await run());
  let timer: NodeJS.Timeout | undefined;
  const rerun = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(async () => {
        io.stdout.write(`\n— ${new Date().toISOString()} change seen, running again\n`);
        return run();
      });
    }, 100);
  };
  // Test files, processors and connections are all JSON: other files (editor swap files, logs) do not count.
  const watchers = paths.map((path) =>
    watch(path, { recursive: true }, (_event, file) => {
      if (file === null || file.endsWith(".json")) rerun();
    }),
  );
  io.stdout.write("watching for changes (Ctrl-C to stop)\n");
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  clearTimeout(timer);
  for (const watcher of watchers) watcher.close();
  return 0;
}

/**
 * Generates the error-code table of docs/api.md and the exit-code table of docs/cli.md from
 * src/errors/codes.ts, between `<!-- generated:… -->` markers, formatted as prettier formats the docs.
 *
 *   npm run docs:errors            rewrites both files
 *   npm run docs:errors -- --check exits 1 when either is stale (test/errors/codes-doc.test.ts does the same)
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { format } from "prettier";
import { ERROR_CODES, EXIT_CODES } from "../../src/errors/codes.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface GeneratedSection {
  readonly file: string;
  readonly marker: string;
  readonly render: () => string;
}

export const SECTIONS: readonly GeneratedSection[] = [
  { file: "docs/api.md", marker: "error-codes", render: errorCodeTable },
  { file: "docs/cli.md", marker: "exit-codes", render: exitCodeTable },
];

function errorCodeTable(): string {
  const rows = Object.entries(ERROR_CODES)
    .sort(([, a], [, b]) => a.status - b.status)
    .map(([code, spec]) => `| ${spec.status} | \`${code}\` | ${spec.when} | ${htmlSafe(spec.message)} |`);
  return [
    "| status | `errorCode` | when | `detail` (`{name}`: filled in by the error) |",
    "| --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

/** Template text as Markdown shows it: `<token>` is text, not an HTML tag. */
function htmlSafe(text: string): string {
  return text.replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function exitCodeTable(): string {
  const rows = Object.values(EXIT_CODES).map((spec) => `| ${spec.code} | ${spec.when} |`);
  return ["| code | meaning |", "| --- | --- |", ...rows].join("\n");
}

/** `text` with the section between its markers replaced by freshly generated content, prettier-formatted. */
export async function regenerate(text: string, section: GeneratedSection): Promise<string> {
  const start = `<!-- generated:${section.marker} (npm run docs:errors; from src/errors/codes.ts) -->`;
  const end = `<!-- end generated:${section.marker} -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${section.file}: the markers ${start} … ${end} are missing`);
  const next = `${text.slice(0, from + start.length)}\n\n${section.render()}\n\n${text.slice(to)}`;
  return format(next, { parser: "markdown", printWidth: 110 });
}

/** Each section's file as it is and as it should be. */
export async function generatedDocs(): Promise<Array<{ file: string; current: string; wanted: string }>> {
  const out = [];
  for (const section of SECTIONS) {
    const path = ROOT + section.file;
    const current = await readFile(path, "utf8");
    out.push({ file: section.file, current, wanted: await regenerate(current, section) });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes("--check");
  let stale = 0;
  for (const doc of await generatedDocs()) {
    if (doc.current === doc.wanted) continue;
    stale++;
    if (check) console.error(`${doc.file} is stale: run npm run docs:errors`);
    else await writeFile(ROOT + doc.file, doc.wanted);
  }
  process.exitCode = check && stale > 0 ? 1 : 0;
}

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { EJSON } from "bson";
import type { Doc } from "../../src/mql/index.ts";
import { catalogOf } from "../../src/pipeline/connections.ts";
import { parseConnections } from "../../src/connectors/connections.ts";
import type { ConnectionEntry, ConnectionType } from "../../src/pipeline/plan.ts";

/** One case of the ASP corpus (/work/shared/asp-corpus/pipelines/*.json), reduced to what the tests need. */
export interface CorpusCase {
  readonly file: string;
  readonly name: string;
  readonly pipeline: unknown[];
  readonly options: Doc;
  readonly expect: "accept" | "accept-ephemeral-only" | "reject-or-warn" | "reject";
  readonly connectionsNeeded: ReadonlyArray<{ readonly name: string; readonly roles: readonly string[] }>;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The corpus folder: /work/shared/asp-corpus or ../shared/asp-corpus next to the repository; undefined if neither. */
export function corpusDir(): string | undefined {
  const candidates = ["/work/shared/asp-corpus", resolve(here, "../../../shared/asp-corpus")];
  return candidates.find((dir) => existsSync(join(dir, "pipelines")));
}

export function loadCases(dir: string): CorpusCase[] {
  return readdirSync(join(dir, "pipelines"))
    .filter((file) => file.endsWith(".json"))
    .sort()
    .map((file) => {
      const raw = EJSON.parse(fillPlaceholders(readFileSync(join(dir, "pipelines", file), "utf8")), {
        relaxed: true,
      }) as Doc;
      return {
        file,
        name: typeof raw.processor_name === "string" ? raw.processor_name : file.replace(/\.json$/, ""),
        pipeline: raw.pipeline as unknown[],
        options: (raw.options ?? {}) as Doc,
        expect: raw.expect as CorpusCase["expect"],
        connectionsNeeded: raw.connections_needed as CorpusCase["connectionsNeeded"],
      };
    });
}

/** The corpus writes values made at run time as `{"$oid": "<generated at runtime>"}` / `{"$date": "<current time…>"}`. */
function fillPlaceholders(text: string): string {
  return text
    .replace(/"\$oid":\s*"<[^"]*>"/g, '"$oid": "000000000000000000000000"')
    .replace(/"\$date":\s*"<[^"]*>"/g, '"$date": "2026-01-01T00:00:00Z"');
}

/** Connection files of the corpus that load (entries without a name or with non-ASP types are skipped files). */
export function loadConnectionFiles(dir: string): { file: string; entries: ConnectionEntry[] | Error }[] {
  return readdirSync(join(dir, "connections"))
    .filter((file) => file.endsWith(".json"))
    .sort()
    .map((file) => {
      try {
        return {
          file,
          entries: parseConnections(JSON.parse(readFileSync(join(dir, "connections", file), "utf8"))),
        };
      } catch (error) {
        return { file, entries: error as Error };
      }
    });
}

/** The connection type a case's role implies (roles are the corpus's `connections_needed[].roles`). */
export function typeForRoles(roles: readonly string[]): ConnectionType {
  const role = roles.join(" ");
  if (/kafka/.test(role)) return "Kafka";
  if (/s3/.test(role)) return "S3";
  if (/testLog/.test(role)) return "TestLog";
  if (/^https$|(^| )https( |$)/.test(role)) return "Https";
  if (/sample/.test(role) && !/cluster/.test(role)) return "Sample";
  return "Cluster";
}

/**
 * A catalog with every connection a case needs: the entries of the corpus connection files that define its
 * names, and for the other names an entry typed from the case's roles.
 */
export function catalogForCase(c: CorpusCase, fileEntries: readonly ConnectionEntry[] = []) {
  const byName = new Map(fileEntries.map((entry) => [entry.name, entry]));
  return catalogOf(
    c.connectionsNeeded.map(
      (n) => byName.get(n.name) ?? { name: n.name, type: typeForRoles(n.roles), config: {} },
    ),
  );
}

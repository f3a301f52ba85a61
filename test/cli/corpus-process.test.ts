// Runs the ASP corpus cases that need no external server (a `documents` or sample source, no $lookup/
// $https/$externalFunction) through `sp process --dry-run` as a subprocess, and where the case carries the
// output ASP printed, checks that Eddy prints the same documents.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Doc } from "../../src/mql/index.ts";
import { catalogOf, planProcessor } from "../../src/pipeline/index.ts";
import { parseConnections } from "../../src/connectors/connections.ts";
import { corpusDir, loadCases, typeForRoles, type CorpusCase } from "../pipeline/corpus-cases.ts";
import { parseMongoshOutput } from "../support/mongosh-output.ts";
import { file, lines, sp } from "./sp.ts";
import { CONNECTORS } from "../../src/connectors/registry.ts";

const dir = corpusDir();
const NEEDS_SERVER = /"\$(lookup|cachedLookup|https|externalFunction|iceberg)"/;
const SAMPLE = { rate: "unlimited", count: 40, seed: 7 };

/** Fixtures whose printed documents are ASP's output for exactly this pipeline over its inline documents. */
const OUTPUT_FIXTURES: Readonly<Record<string, string>> = {
  "mongodb_ASP_example__arrayTypeGrouper_reducer.json": "expected_output_mongosh",
  "mongodb_ASP_example__leftRightWindowJoin.json": "expected_output_mongosh",
  "mongodb_ASP_example__doubleProjection.json": "expected_output",
};

function runnable(c: CorpusCase): boolean {
  if (c.expect === "reject" || c.expect === "reject-or-warn") return false;
  const source = (c.pipeline[0] as Doc | undefined)?.$source as Doc | undefined;
  if (!source) return false;
  const sample = c.connectionsNeeded.some(
    (n) => n.name === source.connectionName && typeForRoles(n.roles) === "Sample",
  );
  return (
    (source.documents !== undefined || sample) && !NEEDS_SERVER.test(JSON.stringify(c.pipeline)) && plans(c)
  );
}

/** Cases Eddy refuses on purpose are covered by the corpus lint test (test/pipeline/corpus.test.ts). */
function plans(c: CorpusCase): boolean {
  try {
    planProcessor(
      { name: c.name, pipeline: c.pipeline, options: c.options },
      {
        connectors: CONNECTORS,
        connections: catalogOf(parseConnections(connectionsFor(c))),
        ephemeral: true,
      },
    );
    return true;
  } catch {
    return false;
  }
}

function connectionsFor(c: CorpusCase): Doc {
  return {
    connections: c.connectionsNeeded.map(({ name, roles }) => {
      const type = typeForRoles(roles);
      return { name, type, config: type === "Sample" ? SAMPLE : {} };
    }),
  };
}

/** Drops what ASP adds and the authors trimmed from their printouts: `_ts`, `_stream_meta`. */
function withoutStreamFields(doc: Doc): Doc {
  const { _ts: _t, _stream_meta: _m, ...rest } = doc;
  return rest;
}

describe.runIf(dir !== undefined)("ASP corpus through sp process", () => {
  const cases = dir ? loadCases(dir).filter(runnable) : [];

  it("finds the runnable cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  for (const c of cases) {
    it(`${c.file} runs to completion`, () => {
      const definition = file(`corpus-${c.file}`, { name: c.name, pipeline: c.pipeline, options: c.options });
      const connections = file(`corpus-connections-${c.file}`, connectionsFor(c));
      const run = sp(["process", definition, "--connections", connections, "--dry-run", "--stats"]);
      expect(run.code, run.stderr).toBe(0);
      const stats = lines(run.stderr.trim().split("\n").at(-1) as string)[0];
      expect(stats.inputMessageCount).toBeGreaterThan(0);

      const fixture = OUTPUT_FIXTURES[c.file];
      if (!fixture || !dir) return;
      const raw = JSON.parse(readFileSync(join(dir, "pipelines", c.file), "utf8")) as Doc;
      const expected = parseMongoshOutput((raw.fixtures as Doc)[fixture] as string) as Doc[];
      const actual = lines(run.stdout).map(withoutStreamFields);
      expect(actual).toHaveLength(expected.length);
      for (const doc of expected) expect(actual).toContainEqual(doc);
    });
  }
});

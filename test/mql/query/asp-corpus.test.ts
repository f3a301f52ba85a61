import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isPlainObject } from "../../../src/mql/bson-types.ts";
import { compileQuery } from "../../../src/mql/query/compile.ts";

const CORPUS = "/work/shared/asp-corpus";

interface MatchStage {
  readonly file: string;
  readonly path: string;
  readonly filter: unknown;
  readonly variables: readonly string[];
}

/** Every $match in a pipeline, including those in $lookup sub-pipelines (with the $lookup's `let` names). */
function matchStages(
  node: unknown,
  path: string,
  file: string,
  variables: readonly string[],
  out: MatchStage[],
): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => matchStages(item, `${path}[${i}]`, file, variables, out));
    return;
  }
  if (!isPlainObject(node)) return;
  const scope = isPlainObject(node.let) ? [...variables, ...Object.keys(node.let)] : variables;
  for (const [key, value] of Object.entries(node)) {
    if (key === "$match") out.push({ file, path: `${path}.$match`, filter: value, variables: scope });
    else matchStages(value, `${path}.${key}`, file, scope, out);
  }
}

function corpusStages(): MatchStage[] {
  const out: MatchStage[] = [];
  for (const dir of ["pipelines", "fragments"]) {
    for (const name of readdirSync(join(CORPUS, dir)).filter((f) => f.endsWith(".json"))) {
      const spec = JSON.parse(readFileSync(join(CORPUS, dir, name), "utf8")) as { pipeline?: unknown };
      matchStages(spec.pipeline ?? spec, "pipeline", `${dir}/${name}`, [], out);
    }
  }
  return out;
}

describe("the ASP corpus", () => {
  it("compiles every $match filter written in real processors", () => {
    const stages = corpusStages();
    expect(stages.length).toBeGreaterThan(30);
    const failures = stages.flatMap((stage) => {
      try {
        compileQuery(stage.filter, { path: stage.path, variables: stage.variables });
        return [];
      } catch (error) {
        return [`${stage.file}: ${(error as Error).message}`];
      }
    });
    expect(failures).toEqual([]);
  });
});

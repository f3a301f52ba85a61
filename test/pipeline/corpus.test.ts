import { describe, expect, it } from "vitest";
import { lintDefinition } from "../../src/cli/commands/lint.ts";
import { NEEDS_SINK_MESSAGE } from "../../src/pipeline/index.ts";
import type { ConnectionEntry } from "../../src/pipeline/plan.ts";
import {
  catalogForCase,
  corpusDir,
  loadCases,
  loadConnectionFiles,
  type CorpusCase,
} from "./corpus-cases.ts";

/**
 * Conformance against the ASP corpus (README in the corpus folder). Every deliberate departure from a case's
 * `expect` is listed here with the exact errors and explained in docs/asp-corpus-decisions.md.
 */
const DIR = corpusDir();

type Issue = { path: string; message: string };

/** Cases Eddy rejects on purpose, with every error it must report (persistent and ephemeral alike). */
const REJECTED: Readonly<Record<string, readonly Issue[]>> = {
  // reject-or-warn: $count outside a window.
  "kgorman_ASP_base__connection_test_verify.json": [
    {
      path: "pipeline[1]",
      message: "$count stage is only permitted in the inner pipeline of a window stage",
    },
  ],
  // reject-or-warn: `to` is not an $emit field; a Cluster connection means the time-series form.
  "kgorman_ASP_base__test_emit_processor_example.json": [
    { path: "pipeline[3].$emit.to", message: "BSON field '$emit.to' is an unknown field." },
    { path: "pipeline[3].$emit.db", message: "BSON field '$emit.db' is missing but a required field" },
    { path: "pipeline[3].$emit.coll", message: "BSON field '$emit.coll' is missing but a required field" },
    {
      path: "pipeline[3].$emit.timeseries",
      message: "BSON field '$emit.timeseries' is missing but a required field",
    },
  ],
  // reject-or-warn: nested `$emit: {kafka: {...}}` form.
  "mongodb_ASP_example__quickstart_02_changestream_to_kafka.json": [
    {
      path: "pipeline[1].$emit.connectionName",
      message: "BSON field '$emit.connectionName' is missing but a required field",
    },
    { path: "pipeline[1].$emit.kafka", message: "BSON field '$emit.kafka' is an unknown field." },
  ],
  // accept in the corpus, but ASP's placement matrix rejects $limit outside a window.
  "kgorman_ASP_base__connection_test_writer.json": [
    {
      path: "pipeline[1]",
      message: "$limit stage is only permitted in the inner pipeline of a window stage",
    },
  ],
  // accept in the corpus, but `validationAction: "dlq"` without `options.dlq` is a planning error in ASP.
  "mongodb_ASP_example__largeDocFilter.json": [
    {
      path: "pipeline[3].$validate.validationAction",
      message: "DLQ must be specified if validation action is dlq.",
    },
  ],
  // accept in the corpus (an undeployed doc example), but `$type` takes one argument in MongoDB.
  "kgorman_ASP_base__pattern6_transformation_normalization.json": [
    {
      path: "pipeline[1].$addFields.normalized_timestamp.$switch.branches[0].case.$type",
      message: "expects 1 argument, got 2",
    },
    {
      path: "pipeline[3].$project.data_quality_score.$add[1].$cond[0].$type",
      message: "expects 1 argument, got 2",
    },
  ],
};

/** `accept-ephemeral-only` cases that do end in a sink, so they also plan as persistent processors. */
const EPHEMERAL_WITH_SINK = new Set([
  "mongodb_ASP_example__superdoc_create_update.json",
  "mongodb_ASP_example__superdoc_delete.json",
]);

function lint(c: CorpusCase, entries: readonly ConnectionEntry[], ephemeral: boolean): Issue[] {
  const definition = { name: c.name, pipeline: c.pipeline, options: c.options };
  return lintDefinition(definition, catalogForCase(c, entries), ephemeral).map(({ path, message }) => ({
    path,
    message,
  }));
}

describe.skipIf(!DIR)("ASP corpus conformance", () => {
  const cases = DIR ? loadCases(DIR) : [];
  const files = DIR ? loadConnectionFiles(DIR) : [];
  const entries = files.flatMap((f) => (f.entries instanceof Error ? [] : f.entries));

  it("loads every corpus case", () => {
    expect(cases.length).toBeGreaterThanOrEqual(118);
  });

  it("loads every connection file in an ASP shape and refuses the two that are not", () => {
    const failed = files.filter((f) => f.entries instanceof Error).map((f) => f.file);
    expect(failed).toEqual([
      "kgorman_ASP_base__CONNECTION_GUIDE_examples.json",
      "mongodb_ASP_example__kafka_to_asp_shapes.json",
    ]);
    const byName = new Map(entries.map((e) => [e.name, e.type]));
    expect(byName.get("db1")).toBe("Cluster"); // engine-internal "atlas"
    expect(byName.get("kafka1")).toBe("Kafka");
    expect(byName.get("http_source")).toBe("Https"); // lowercase "https"
    expect(byName.get("kafkapl")).toBe("Kafka"); // Terraform connection_name
  });

  for (const c of cases) {
    const rejected = REJECTED[c.file];
    if (rejected) {
      it(`${c.file}: rejected (${c.expect}) with every error named by path`, () => {
        expect(lint(c, entries, false)).toEqual(rejected);
        expect(lint(c, entries, true)).toEqual(rejected);
      });
    } else if (c.expect === "accept") {
      it(`${c.file}: plans as a persistent processor`, () => {
        expect(lint(c, entries, false)).toEqual([]);
      });
    } else if (c.expect === "accept-ephemeral-only") {
      it(`${c.file}: plans ephemerally; as a persistent processor only with a sink`, () => {
        expect(lint(c, entries, true)).toEqual([]);
        const persistent = lint(c, entries, false);
        if (EPHEMERAL_WITH_SINK.has(c.file)) expect(persistent).toEqual([]);
        else expect(persistent).toEqual([{ path: "pipeline", message: NEEDS_SINK_MESSAGE }]);
      });
    } else if (c.expect === "reject") {
      it(`${c.file}: rejected with errors naming paths`, () => {
        const issues = lint(c, entries, false);
        expect(issues.length).toBeGreaterThan(0);
        for (const issue of issues) expect(issue.path).toMatch(/^pipeline/);
      });
    } else {
      it(`${c.file}: has a recorded decision`, () => {
        expect.fail(`reject-or-warn case without a decision in REJECTED: ${c.file}`);
      });
    }
  }

  it("rejects the node-driver pipeline naming $source.collection and the window unit", () => {
    const c = cases.find(
      (x) => x.file === "nurih_stream-processing-atlas-demo__node_driver_pipeline_invalid.json",
    );
    expect(c && lint(c, entries, false)).toEqual([
      {
        path: "pipeline[0].$source.collection",
        message: "BSON field '$source.collection' is an unknown field.",
      },
      {
        path: "pipeline[1].$tumblingWindow.interval.unit",
        message:
          "Enumeration value 'seconds' for field '$tumblingWindow.interval.unit' is not a valid value.",
      },
      { path: "pipeline", message: NEEDS_SINK_MESSAGE },
    ]);
  });
});

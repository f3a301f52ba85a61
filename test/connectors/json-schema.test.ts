import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { lintDefinition } from "../../src/cli/commands/lint.ts";
import {
  connectionSchema,
  connectionsFileSchema,
  processorSchema,
} from "../../src/connectors/json-schema.ts";
import { CONNECTORS } from "../../src/connectors/registry.ts";
import { catalogForCase, corpusDir, loadCases, loadConnectionFiles } from "../pipeline/corpus-cases.ts";

const DIR = corpusDir();
const ajv = new Ajv2020({ strict: false, allErrors: true });
const validateProcessor = ajv.compile(processorSchema());
const validateConnections = ajv.compile(connectionsFileSchema());

/** The definition as JSON (schemas see JSON, not BSON values): the case file's raw text. */
function rawDefinition(dir: string, file: string): unknown {
  const raw = JSON.parse(readFileSync(join(dir, "pipelines", file), "utf8")) as Record<string, unknown>;
  return {
    ...(raw.processor_name ? { name: raw.processor_name } : {}),
    pipeline: raw.pipeline,
    options: raw.options ?? {},
  };
}

/** A lint issue that is about shape alone (unknown/missing field, wrong type): the schema must see it too. */
const SHAPE_ISSUE = /is an unknown field|is missing but a required field|is the wrong type/;

describe.skipIf(!DIR)("sp schema against the ASP corpus", () => {
  const dir = DIR!;
  const cases = loadCases(dir);
  const files = loadConnectionFiles(dir);

  it("accepts every processor sp lint accepts, and rejects those lint rejects for their shape", () => {
    const disagreements: string[] = [];
    let accepted = 0;
    for (const c of cases) {
      const issues = lintDefinition(
        { name: c.name, pipeline: c.pipeline, options: c.options },
        catalogForCase(
          c,
          files.flatMap((f) => (Array.isArray(f.entries) ? f.entries : [])),
        ),
        c.expect === "accept-ephemeral-only",
      );
      const valid = validateProcessor(rawDefinition(dir, c.file));
      if (issues.length === 0) {
        accepted++;
        if (!valid)
          disagreements.push(
            `${c.file}: lint accepts, schema rejects ${JSON.stringify(validateProcessor.errors)}`,
          );
      } else if (issues.every((issue) => SHAPE_ISSUE.test(issue.message)) && valid) {
        disagreements.push(`${c.file}: lint rejects its shape (${issues[0].message}), schema accepts`);
      }
    }
    expect(disagreements).toEqual([]);
    expect(accepted).toBeGreaterThan(100);
  });

  it("agrees with the connection parser on every connection file", () => {
    const names = readdirSync(join(dir, "connections")).filter((file) => file.endsWith(".json"));
    expect(names.length).toBeGreaterThan(0);
    for (const { file, entries } of files) {
      const value: unknown = JSON.parse(readFileSync(join(dir, "connections", file), "utf8"));
      expect({ file, valid: validateConnections(value) }).toEqual({
        file,
        valid: !(entries instanceof Error),
      });
    }
  });
});

describe("sp schema", () => {
  it("has a schema per connection type, by name or alias, that rejects an unknown type", () => {
    for (const spec of CONNECTORS.specs)
      expect(connectionSchema(spec.type)).toMatchObject({ title: `${spec.type} connection` });
    const kafka = ajv.compile(connectionSchema("kafka")!);
    expect(kafka({ name: "k", type: "KAFKA", config: { bootstrapServers: "h:9092" } })).toBe(true);
    expect(kafka({ name: "k", type: "Cluster" })).toBe(false);
    expect(connectionSchema("Nope")).toBeUndefined();
  });

  it("rejects an unknown $source or $emit field and a stage that is not one", () => {
    const source = { $source: { connectionName: "k", topic: "t" } };
    expect(
      validateProcessor({ name: "p", pipeline: [source, { $emit: { connectionName: "k", topic: "o" } }] }),
    ).toBe(true);
    expect(validateProcessor({ pipeline: [{ $source: { connectionName: "k", topik: "t" } }] })).toBe(false);
    expect(validateProcessor({ pipeline: [source, { $nope: {} }] })).toBe(false);
    expect(
      validateProcessor({ pipeline: [source, { $emit: { connectionName: "k", topic: "o", bogus: 1 } }] }),
    ).toBe(false);
  });
});

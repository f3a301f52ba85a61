import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { connectionTypeTables, withCurrentTables } from "../../src/connectors/option-tables.ts";
import { CONNECTORS } from "../../src/connectors/registry.ts";

const DOC = new URL("../../docs/connectors.md", import.meta.url);

describe("docs/connectors.md option tables", () => {
  it("are the ones the connector specs generate (run `npm run docs:connectors` when this fails)", () => {
    const text = readFileSync(DOC, "utf8");
    expect(withCurrentTables(text)).toBe(text);
  });

  it("have a section for every registered type and a row for every option", () => {
    const tables = connectionTypeTables();
    for (const spec of CONNECTORS.specs) {
      expect(tables).toContain(`### ${spec.type}\n`);
      for (const field of Object.keys(spec.source?.fields.properties ?? {}))
        expect(tables).toContain(`| \`${field}\` |`);
    }
  });
});

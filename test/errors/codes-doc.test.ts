// The error-code tables in docs/api.md and docs/cli.md are generated from src/errors/codes.ts: a stale doc fails.
import { describe, expect, it } from "vitest";
import { generatedDocs, regenerate, SECTIONS } from "../../scripts/docs/error-codes.ts";
import { ERROR_CODES, REASON_PHRASES } from "../../src/errors/codes.ts";

describe("error-code registry", () => {
  it("docs/api.md and docs/cli.md hold the tables generated from the registry", async () => {
    for (const doc of await generatedDocs()) {
      expect(doc.current, `${doc.file} is stale: run npm run docs:errors`).toBe(doc.wanted);
    }
  });

  it("notices a code missing from the doc", async () => {
    const [api] = await generatedDocs();
    const edited = api.current.replace(/^\| 421 .*\n/m, "");
    expect(edited).not.toBe(api.current);
    expect(await regenerate(edited, SECTIONS[0])).toBe(api.wanted);
  });

  it("gives every status a reason phrase", () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(REASON_PHRASES[spec.status], code).toBeTypeOf("string");
    }
  });
});

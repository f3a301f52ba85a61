import { describe, expect, it } from "vitest";
import {
  DocumentsSource,
  NOT_AN_ARRAY,
  NOT_AN_ARRAY_OF_OBJECTS,
} from "../../../src/connectors/documents/source.ts";
import { compileExpression } from "../../../src/mql/index.ts";

async function drain(source: DocumentsSource) {
  await source.start();
  const batches = [];
  for (let b = await source.next(); b; b = await source.next()) batches.push(b);
  return batches;
}

describe("documents source", () => {
  it("hands over the inline array in batches without mutating it", async () => {
    const docs = [{ a: 1 }, { a: 2 }, { a: 3 }];
    const batches = await drain(new DocumentsSource(docs, { batchSize: 2 }));
    expect(batches.map((b) => b.records.map((r) => r.doc))).toEqual([[{ a: 1 }, { a: 2 }], [{ a: 3 }]]);
    batches[0].records[0].doc!.x = 1;
    expect(docs[0]).toEqual({ a: 1 });
  });

  it("evaluates an expression once at start", async () => {
    const expr = compileExpression({ $map: { input: { $range: [0, 3] }, in: { i: "$$this" } } });
    const batches = await drain(new DocumentsSource(expr));
    expect(batches[0].records.map((r) => r.doc)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
  });

  it("rejects a value that is not an array of objects with ASP's texts", async () => {
    await expect(new DocumentsSource(compileExpression({ $literal: 5 })).start()).rejects.toThrow(
      NOT_AN_ARRAY,
    );
    await expect(new DocumentsSource(compileExpression({ $literal: [1, 2] })).start()).rejects.toThrow(
      NOT_AN_ARRAY_OF_OBJECTS,
    );
  });
});

/** What the MongoDB sinks share about a written batch: the result they report, and reading document fields. */
import { bsonSize } from "../../codec/bson-size.ts";
import type { Doc } from "../../mql/index.ts";
import type { SinkResult } from "../../runtime/sink.ts";

/** A sink's result for a batch: the bytes of the documents written and the per-document failures, in order. */
export function sinkResult(
  docs: readonly Doc[],
  failures: Array<{ index: number; message: string }>,
): SinkResult {
  const failed = new Set(failures.map((f) => f.index));
  let bytes = 0;
  docs.forEach((doc, i) => {
    if (!failed.has(i)) bytes += bsonSize(doc);
  });
  failures.sort((a, b) => a.index - b.index);
  return failures.length > 0 ? { bytes, failures } : { bytes };
}

/** The value at a dotted path of plain sub-documents (`on` fields, `timeField`); undefined when missing. */
export function readPath(doc: Doc, path: string): unknown {
  if (!path.includes(".")) return doc[path];
  let value: unknown = doc;
  for (const part of path.split(".")) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Doc)[part];
  }
  return value;
}

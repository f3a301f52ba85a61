import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { Long, ObjectId } from "bson";
import { describe, expect, it } from "vitest";
import { FileSource } from "../../../src/connectors/file/source.ts";
import { MAX_NESTING_DEPTH, nestingDepth, parseJsonLine } from "../../../src/connectors/file/parse-line.ts";
import { DocumentsSource } from "../../../src/connectors/documents/source.ts";
import type { SourceRecord } from "../../../src/runtime/index.ts";
import { documentsPlan, runPlan } from "../../runtime/helpers.ts";

async function records(source: FileSource): Promise<SourceRecord[]> {
  await source.start();
  const out: SourceRecord[] = [];
  for (let b = await source.next(); b; b = await source.next()) out.push(...b.records);
  await source.close();
  return out;
}

function nested(depth: number): string {
  return '{"a":'.repeat(depth - 1) + "{}" + "}".repeat(depth - 1);
}

describe("JSON Lines parsing", () => {
  it("reads relaxed and canonical Extended JSON", () => {
    const relaxed = parseJsonLine(
      '{"_id": {"$oid": "65f9fea5c5154385174af71e"}, "t": {"$date": "2024-01-01T00:00:00Z"}, "n": 1}',
    );
    expect(relaxed.doc?._id).toBeInstanceOf(ObjectId);
    expect(relaxed.doc?.t).toEqual(new Date("2024-01-01T00:00:00Z"));
    const canonical = parseJsonLine('{"n": {"$numberInt": "5"}, "l": {"$numberLong": "9007199254740993"}}');
    expect(canonical.doc?.n).toBe(5);
    expect(canonical.doc?.l).toBeInstanceOf(Long);
  });

  it("reports malformed lines, non-objects, deep nesting and oversized documents", () => {
    expect(parseJsonLine("{nope").error).toMatch(/^invalid JSON/);
    expect(parseJsonLine("[1,2]").error).toBe("expected a JSON object, got an array");
    expect(parseJsonLine("7").error).toBe("expected a JSON object, got number");
    expect(parseJsonLine(nested(MAX_NESTING_DEPTH)).doc).toBeDefined();
    expect(parseJsonLine(nested(200)).error).toBe(
      `document nesting depth 200 exceeds the maximum of ${MAX_NESTING_DEPTH}`,
    );
    expect(nestingDepth('{"a":"{{{[["}')).toBe(1);
    const big = JSON.stringify({ s: "x".repeat(17 * 1024 * 1024) });
    expect(parseJsonLine(big).error).toMatch(/exceeds the maximum BSON document size of 16777216 bytes/);
  });
});

describe("file source", () => {
  it("reads a file line by line in batches, skipping blank lines, and ends", async () => {
    const dir = mkdtempSync(join(tmpdir(), "eddy-file-"));
    const path = join(dir, "in.jsonl");
    writeFileSync(path, '{"a":1}\n\n{"a":2}\r\n{"a":3}');
    const out = await records(new FileSource(path, { batchSize: 2 }));
    expect(out.map((r) => r.doc)).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }]);
    expect(out[0].size).toBe(7);
  });

  it("turns malformed lines into error records with the raw line", async () => {
    const out = await records(new FileSource(Readable.from(['{"a":1}\n{"a":\n', '[1]\n{"b":2}\n'])));
    expect(out.map((r) => r.error?.raw ?? r.doc)).toEqual([{ a: 1 }, '{"a":', "[1]", { b: 2 }]);
    expect(out[1].meta).toEqual({ file: "stream", line: 2 });
  });

  it("fails to start on a missing file", async () => {
    await expect(new FileSource("/nonexistent/eddy.jsonl").start()).rejects.toThrow(
      /cannot read \/nonexistent\/eddy.jsonl/,
    );
  });

  it("reports idle when a stream has nothing for a while", async () => {
    const stream = new Readable({ read() {} });
    const source = new FileSource(stream, { idlePollMs: 20 });
    stream.push('{"a":1}\n');
    await source.start();
    expect((await source.next())?.records).toHaveLength(1);
    expect(await source.next()).toEqual({ records: [], idle: true });
    stream.push('{"a":2}\n');
    stream.push(null);
    expect((await source.next())?.records.map((r) => r.doc)).toEqual([{ a: 2 }]);
    expect(await source.next()).toBeUndefined();
  });

  it("dead-letters bad lines through the runtime without stopping", async () => {
    const plan = documentsPlan([]);
    const source = new FileSource(Readable.from(['{"a":1}\nnot json\n{"a":2}\n']));
    const { out, dlq, stats } = await runPlan(plan, source);
    expect(out.map((d) => d.a)).toEqual([1, 2]);
    expect(out[0]._stream_meta).toEqual({ source: { type: "file" } });
    expect(dlq.records[0]).toMatchObject({
      _stream_meta: { source: { type: "file", file: "stream", line: 2 } },
      operatorName: "FileSourceOperator",
      doc: "not json",
      processorName: "test",
    });
    expect((dlq.records[0].errInfo as { reason: string }).reason).toMatch(
      /^Failed to process input document with error: invalid JSON/,
    );
    expect(stats.inputMessageCount).toBe(3);
    void DocumentsSource;
  });
});

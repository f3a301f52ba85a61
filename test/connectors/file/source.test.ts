import { appendFileSync, mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { Long, ObjectId } from "bson";
import { describe, expect, it } from "vitest";
import { JsonLinesSink } from "../../../src/connectors/file/sink.ts";
import {
  FileSource,
  fileSourceSettings,
  STREAM_CHECKPOINT_BYTES,
} from "../../../src/connectors/file/source.ts";
import { LineReader } from "../../../src/connectors/file/line-reader.ts";
import { SlabCopies, type SlabCopy } from "../../../src/connectors/file/slab-copies.ts";
import { MAX_NESTING_DEPTH, nestingDepth, parseJsonLine } from "../../../src/connectors/file/parse-line.ts";
import { DocumentsSource } from "../../../src/connectors/documents/source.ts";
import type { Doc } from "../../../src/mql/index.ts";
import { MemoryCheckpointStore, ProcessorRuntime, type SourceRecord } from "../../../src/runtime/index.ts";
import { CollectSink, documentsPlan, runPlan } from "../../runtime/helpers.ts";

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

/** A readable that yields `text` in chunks of `size` bytes (as a file stream would). */
function chunked(text: string | Buffer, size: number): Readable {
  const bytes = typeof text === "string" ? Buffer.from(text) : text;
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks, { objectMode: false });
}

describe("file source: long lines, encodings, Extended JSON values", () => {
  it("joins a line spread over many chunks, and dead-letters a line over maxLineBytes with its head and length", async () => {
    const long = JSON.stringify({ s: "y".repeat(2400) });
    const text = `{"a":1}\r\n${long}\n{"s":"${"x".repeat(3000)}"}\n{"a":2}`;
    const out = await records(new FileSource(chunked(text, 100), { maxLineBytes: 3000 }));
    expect(out[0].doc).toEqual({ a: 1 });
    expect(out[1].doc).toEqual(JSON.parse(long));
    expect(out[2].error?.message).toBe(
      "line of 3008 bytes exceeds the maximum line length of 3000 bytes (config.maxLineBytes of the File connection); the record holds its first 1024 bytes",
    );
    expect(out[2].error?.raw).toBe(`{"s":"${"x".repeat(1018)}`);
    expect(out[2].meta).toEqual({ file: "stream", line: 3 });
    expect(out[3].doc).toEqual({ a: 2 });
  });

  it("caps a line at 16 MiB by default without parsing it", async () => {
    const huge = Buffer.alloc(17 * 1024 * 1024 + 3, "z");
    huge.write('{"s":"', 0);
    const input = Buffer.concat([huge, Buffer.from('\n{"after":true}\n')]);
    const out = await records(new FileSource(chunked(input, 64 * 1024)));
    expect(out).toHaveLength(2);
    expect(out[0].error?.message).toMatch(
      /^line of 17825795 bytes exceeds the maximum line length of 16777216 bytes/,
    );
    expect(out[0].error?.raw).toBe('{"s":"' + "z".repeat(1018));
    expect(out[0].meta).toEqual({ file: "stream", line: 1 });
    expect(out[1].doc).toEqual({ after: true });
  });

  it("dead-letters a line that is not UTF-8, unless the connection says to replace", async () => {
    const input = Buffer.concat([
      Buffer.from('{"s":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}\n{"ok":1}\n'),
    ]);
    const strict = await records(new FileSource(chunked(input, 4)));
    expect(strict[0].error?.message).toMatch(/^line is not valid UTF-8/);
    expect(strict[1].doc).toEqual({ ok: 1 });
    const replaced = await records(new FileSource(chunked(input, 4), { invalidUtf8: "replace" }));
    expect(replaced.map((r) => r.doc)).toEqual([{ s: "\uFFFD\uFFFD" }, { ok: 1 }]);
    expect(fileSourceSettings({ path: "-", invalidUtf8: "replace", maxLineBytes: 10 })).toEqual({
      invalidUtf8: "replace",
      maxLineBytes: 10,
    });
  });

  it("rejects a $date that is not a date as invalid Extended JSON", async () => {
    expect(parseJsonLine('{"d": {"$date": "not a date"}}').error).toMatch(
      /the \$date at d is not a valid date/,
    );
    expect(parseJsonLine('{"a": [{"$date": "2024-13-45"}], "n": {"$numberLong": "1"}}').error).toMatch(
      /the \$date at a\.0 is not a valid date/,
    );
  });

  it("writes a $numberLong beyond 2^53 with every digit", async () => {
    const chunks: string[] = [];
    const sink = new JsonLinesSink(new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) }));
    const parsed = parseJsonLine('{"n": {"$numberLong": "9007199254740993"}}');
    await sink.write([parsed.doc!]);
    expect(chunks.join("")).toBe('{"n":{"$numberLong":"9007199254740993"}}\n');
  });
});

describe("file source: resuming", () => {
  const lines = (from: number, to: number): string =>
    Array.from({ length: to - from + 1 }, (_, i) => JSON.stringify({ n: from + i }) + "\n").join("");

  async function readAll(path: string, resumeFrom?: Doc, logged: string[] = []) {
    const source = new FileSource(path, {
      resumeFrom,
      logger: {
        info: () => {},
        error: () => {},
        warn: (msg, fields) => logged.push(`${msg} ${JSON.stringify(fields)}`),
      },
    });
    await source.start();
    const docs: unknown[] = [];
    for (let b = await source.next(); b; b = await source.next())
      docs.push(...b.records.map((r) => r.doc?.n));
    const positions = source.positions();
    await source.close();
    return { docs, positions };
  }

  it("continues an appended file after its checkpoint, and starts a replaced file from its beginning", async () => {
    const dir = mkdtempSync(join(tmpdir(), "eddy-file-"));
    const path = join(dir, "in.jsonl");
    writeFileSync(path, lines(1, 5));
    const first = await readAll(path);
    expect(first.docs).toEqual([1, 2, 3, 4, 5]);
    expect(first.positions).toMatchObject({ line: 5, offset: Buffer.byteLength(lines(1, 5)) });

    appendFileSync(path, lines(6, 7));
    const logged: string[] = [];
    const appended = await readAll(path, first.positions, logged);
    expect(appended.docs).toEqual([6, 7]);
    expect(logged).toEqual([]);

    // Replaced by a new file (a new inode, other content), shorter than what was read.
    writeFileSync(join(dir, "next.jsonl"), lines(100, 102));
    renameSync(join(dir, "next.jsonl"), path);
    const replaced = await readAll(path, appended.positions, logged);
    expect(replaced.docs).toEqual([100, 101, 102]);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^file replaced since the checkpoint: reading it from the beginning/);

    // Rewritten in place (same inode), longer than before but with other first lines.
    writeFileSync(path, lines(200, 210));
    const rewritten = await readAll(path, replaced.positions, logged);
    expect(rewritten.docs).toEqual(Array.from({ length: 11 }, (_, i) => 200 + i));
    expect(logged[1]).toMatch(/"reason":"its first bytes changed"/);
  });

  it("a source restarted on the same stream reads again what followed its checkpoint, which a stream cannot", async () => {
    const stream = chunked(lines(1, 8), 8);
    const first = new FileSource(stream, { batchSize: 2 });
    await first.start();
    expect((await first.next())?.records.map((r) => r.doc?.n)).toEqual([1, 2]);
    await first.acknowledge({ line: 1 });
    expect((await first.next())?.records.map((r) => r.doc?.n)).toEqual([3, 4]);
    await first.close();
    // The checkpoint holds line 1: lines 2-4 were read by the failed run but never written.
    const second = new FileSource(stream, { batchSize: 3, resumeFrom: { line: 1 } });
    await second.start();
    expect((await second.next())?.records.map((r) => r.doc?.n)).toEqual([2, 3, 4]);
    expect(second.positions()).toEqual({ file: "stream", line: 4 });
    await second.close();
    // Released lines cannot be read again: a resume before them skips to where the stream is.
    const third = new FileSource(stream, { resumeFrom: { line: 0 } });
    expect((await records(third)).map((r) => r.doc?.n)).toEqual([5, 6, 7, 8]);
  });
});

describe("file source: what a stream keeps for a restart", () => {
  it("rewinds to any line after the last release, whatever the chunk boundaries and line lengths", async () => {
    // Lines of varied lengths (some longer than a chunk), cut into chunks of several sizes; with the long
    // lines the kept copies fill several slabs and straddle them.
    for (const [padding, size] of [
      [90, 7],
      [90, 64],
      [90, 1000],
      [20_000, 1000],
      [20_000, 65_536],
    ]) {
      const texts = Array.from({ length: 60 }, (_, i) =>
        JSON.stringify({ n: i, pad: "p".repeat((i * (padding > 1000 ? 3701 : 37)) % padding) }),
      );
      const input = texts.join("\n"); // no final newline: the last line ends with the input
      for (const [released, rewindTo, takenBefore] of [
        [0, 0, 25],
        [10, 12, 40],
        [30, 30, 60],
        [5, 59, 60],
      ]) {
        const reader = new LineReader(chunked(input, size), { maxLineBytes: 1 << 20, retainBytes: 1 << 20 });
        await reader.open();
        const take = async (): Promise<string | undefined> => {
          for (;;) {
            const line = reader.take();
            if (line) return line.bytes?.toString();
            if (reader.done || (await reader.read(1000)) === false) return undefined;
          }
        };
        for (let i = 0; i < takenBefore; i++) expect(await take()).toBe(texts[i]);
        reader.release(released);
        const bytesAt = Buffer.byteLength(texts.slice(0, rewindTo).join("\n")) + (rewindTo > 0 ? 1 : 0);
        expect(reader.rewind(rewindTo)).toBe(true);
        expect([reader.linesTaken, reader.bytesTaken]).toEqual([rewindTo, bytesAt]);
        const rest: (string | undefined)[] = [];
        for (let line = await take(); line !== undefined; line = await take()) rest.push(line);
        expect(rest).toEqual(texts.slice(rewindTo));
        // Released lines are never handed over again.
        if (released > 0) expect(reader.rewind(released - 1)).toBe(false);
      }
    }
  });

  it("asks for a checkpoint once it keeps STREAM_CHECKPOINT_BYTES, and keeps little once acknowledged", async () => {
    const line = JSON.stringify({ pad: "q".repeat(1000) }) + "\n";
    const count = Math.ceil((STREAM_CHECKPOINT_BYTES * 1.5) / line.length);
    const source = new FileSource(chunked(line.repeat(count), 64 * 1024), { batchSize: 500 });
    await source.start();
    let read = 0;
    while (!source.checkpointDue()) {
      const batch = await source.next();
      expect(batch).toBeDefined();
      read += batch?.records.length ?? 0;
    }
    expect(read * line.length).toBeGreaterThanOrEqual(STREAM_CHECKPOINT_BYTES - 64 * 1024);
    expect(read).toBeLessThan(count);
    await source.acknowledge(source.positions());
    expect(source.checkpointDue()).toBe(false);
    await source.close();
  });

  it("a processor reading a long stream checkpoints by what its source keeps, not only by the clock", async () => {
    const line = JSON.stringify({ pad: "r".repeat(1000) }) + "\n";
    const count = Math.ceil((STREAM_CHECKPOINT_BYTES * 4) / line.length);
    const checkpoints: number[] = [];
    const runtime = new ProcessorRuntime(documentsPlan([]), {
      source: new FileSource(chunked(line.repeat(count), 64 * 1024)),
      sink: new CollectSink(),
      checkpoints: new MemoryCheckpointStore(),
      checkpointIntervalMs: 3_600_000,
      onCheckpoint: (info) => checkpoints.push(info.id),
    });
    const stats = await runtime.run();
    expect(stats.inputMessageCount).toBe(count);
    // The first batch, one per STREAM_CHECKPOINT_BYTES kept (about 4), and the last at the end of input.
    expect(checkpoints.length).toBeGreaterThanOrEqual(5);
  });
});

describe("SlabCopies", () => {
  it("keeps every live copy intact while slabs fill, straddle and are reused", () => {
    const slabs = new SlabCopies();
    const live: { copy: SlabCopy; bytes: Buffer }[] = [];
    let seed = 1;
    const next = (): number => (seed = (seed * 48271) % 2147483647);
    for (let i = 0; i < 400; i++) {
      // Chunks from 1 byte to 300 KiB (larger than a slab), each with its own content.
      const size = i % 50 === 0 ? 300 * 1024 : 1 + (next() % (70 * 1024));
      const bytes = Buffer.alloc(size, i % 251);
      if (size >= 4) bytes.writeUInt32LE(i, 0);
      live.push({ copy: slabs.copy(bytes), bytes });
      // Free the oldest copies, as acknowledged checkpoints do, keeping a few MiB live.
      while (live.reduce((n, entry) => n + entry.bytes.length, 0) > 3 * 1024 * 1024) {
        slabs.free(live.shift()!.copy);
      }
      for (const { copy, bytes: original } of live) {
        expect(copy.length).toBe(original.length);
        expect(Buffer.concat(copy.pieces).equals(original)).toBe(true);
      }
    }
  });
});

// The spool on a real directory: group-committed appends read back in order, a torn last frame cut off
// on reopen, replay from any frame boundary, and segments deleted only once every reader acknowledged them.
import { appendFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Spool, SpoolFullError } from "../../../src/connectors/otlp/spool.ts";

const entry = (n: number, size = 100) => ({
  encoding: "protobuf" as const,
  receivedAt: 1000 + n,
  requestId: `req-${n}`,
  body: Buffer.alloc(size, n),
});

describe("OTLP spool", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "eddy-spool-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("reads concurrent appends back in order, each at the offset its append resolved with", async () => {
    const spool = await Spool.open(dir, { maxBytes: 1 << 20 });
    const offsets = await Promise.all(Array.from({ length: 20 }, (_, n) => spool.append(entry(n))));
    const frames = await spool.read(0, 1 << 20);
    expect(frames.map((f) => f.requestId)).toEqual(Array.from({ length: 20 }, (_, n) => `req-${n}`));
    expect(frames.map((f) => f.offset)).toEqual(offsets);
    expect(frames[3]!.body).toEqual(entry(3).body);
    expect(frames[3]!.receivedAt).toBe(1003);
    const rest = await spool.read(frames[10]!.offset, 1 << 20);
    expect(rest.map((f) => f.requestId)[0]).toBe("req-10");
    await spool.close();
  });

  it("cuts a torn frame off the end when it reopens, keeping every complete one", async () => {
    const spool = await Spool.open(dir, { maxBytes: 1 << 20 });
    for (let n = 0; n < 3; n++) await spool.append(entry(n));
    const end = spool.endOffset;
    await spool.close();
    const [segment] = await readdir(dir);
    await appendFile(join(dir, segment!), Buffer.from([200, 0, 0, 0, 1, 2, 3]));
    const reopened = await Spool.open(dir, { maxBytes: 1 << 20 });
    expect(reopened.endOffset).toBe(end);
    expect((await reopened.read(0, 1 << 20)).map((f) => f.requestId)).toEqual(["req-0", "req-1", "req-2"]);
    await reopened.append(entry(3));
    expect((await reopened.read(end, 1 << 20)).map((f) => f.requestId)).toEqual(["req-3"]);
    await reopened.close();
  });

  it("deletes a segment only after every attached reader acknowledged past it, and refuses when full", async () => {
    const spool = await Spool.open(dir, { maxBytes: 8 * 1024, segmentBytes: 64 * 1024 });
    spool.attach("a", 0);
    spool.attach("b", 0);
    const offsets: number[] = [];
    for (let n = 0; n < 7; n++) offsets.push(await spool.append(entry(n, 1000)));
    await expect(spool.append(entry(99, 2000))).rejects.toBeInstanceOf(SpoolFullError);
    await spool.acknowledge("a", spool.endOffset);
    expect(spool.isFull(2000)).toBe(true); // b still needs everything
    await spool.acknowledge("b", offsets[5]!);
    expect(spool.backlogBytes).toBe(spool.endOffset - offsets[5]!);
    await spool.append(entry(7, 1000));
    await spool.close();
  });

  it("rolls segments and reads across them; acknowledged segments are removed from disk", async () => {
    const spool = await Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 64 * 1024 });
    spool.attach("r", 0);
    for (let n = 0; n < 40; n++) await spool.append(entry(n, 4000));
    expect((await readdir(dir)).length).toBeGreaterThan(1);
    const all = await spool.read(0, 1 << 20);
    expect(all).toHaveLength(40);
    await spool.acknowledge("r", all[30]!.offset);
    const files = await readdir(dir);
    expect(files.length).toBeLessThan(3);
    expect(spool.startOffset).toBeLessThanOrEqual(all[30]!.offset);
    expect((await spool.read(0, 1 << 20)).map((f) => f.requestId)).toContain("req-30");
    await spool.close();
  });
});

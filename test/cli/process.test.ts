import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dir, file, lines, sp } from "./sp.ts";

const documentsDefinition = {
  name: "docs",
  pipeline: [
    {
      $source: {
        documents: [
          { id: 1, n: 10, d: 2, t: "2024-02-12T15:03:20Z" },
          { id: 2, n: 1, d: 0, t: "2024-02-12T15:03:21Z" },
          { id: 3, n: 9, d: 3, t: "2024-02-12T15:03:22Z" },
          { id: 4, n: 0, d: 1, t: "2024-02-12T15:03:23Z" },
        ],
        timeField: { $dateFromString: { dateString: "$t" } },
      },
    },
    { $match: { n: { $gt: 0 } } },
    { $addFields: { q: { $divide: ["$n", "$d"] } } },
    { $project: { id: 1, q: 1, _ts: 1 } },
  ],
};

describe("sp process (subprocess)", () => {
  it("runs a documents pipeline: output on stdout, DLQ on stderr, stats with --stats, exit 0", () => {
    const { code, stdout, stderr } = sp(["process", file("docs.json", documentsDefinition), "--stats"]);
    expect(code).toBe(0);
    const out = lines(stdout);
    expect(out.map((d) => [d.id, d.q])).toEqual([
      [1, 5],
      [3, 3],
    ]);
    expect(out[0]._ts).toEqual(new Date("2024-02-12T15:03:20Z"));
    const err = lines(stderr);
    const dlq = err.filter((l) => "_dlqMessage" in l).map((l) => l._dlqMessage as Record<string, unknown>);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]).toMatchObject({
      operatorName: "AddFieldsOperator",
      doc: { id: 2 },
      processorName: "docs",
    });
    const stats = err.find((l) => "inputMessageCount" in l)!;
    expect(stats).toMatchObject({ inputMessageCount: 4, outputMessageCount: 2, dlqMessageCount: 1 });
  });

  it("writes the DLQ to a file with --dlq and reads the definition from stdin", () => {
    const dlqPath = join(dir, "dlq.jsonl");
    const { code, stdout, stderr } = sp(
      ["process", "-", "--dlq", dlqPath],
      JSON.stringify(documentsDefinition.pipeline),
    );
    expect(code).toBe(0);
    expect(stderr).toBe("");
    expect(lines(stdout)).toHaveLength(2);
    const records = lines(readFileSync(dlqPath, "utf8"));
    expect(records[0]).toMatchObject({
      errInfo: { reason: expect.stringContaining("AddFieldsOperator") },
      doc: { id: 2 },
    });
  });

  it("exits non-zero with a clear message for an invalid definition", () => {
    const { code, stdout, stderr } = sp([
      "process",
      file("bad.json", { name: "bad", pipeline: [{ $match: {} }] }),
    ]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain("First stage must be $source, found: $match");
  });
});

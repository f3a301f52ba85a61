import { describe, expect, it } from "vitest";
import { file, lines, sp } from "./sp.ts";

describe("sp process with a file source, sp help (subprocess)", () => {
  it("runs a file source with a window and dead-letters malformed lines", () => {
    const input = file(
      "events.jsonl",
      [
        '{"device": "a", "w": 1, "ts": {"$date": "2024-01-01T00:00:01Z"}}',
        '{"device": "b", "w": 5, "ts": {"$date": "2024-01-01T00:00:02Z"}}',
        "this is not json",
        '{"device": "a", "w": 3, "ts": {"$date": "2024-01-01T00:00:04Z"}}',
        '{"device": "a", "w": 7, "ts": {"$date": "2024-01-01T00:00:06Z"}}',
      ].join("\n") + "\n",
    );
    const connections = file("connections.json", {
      connections: [{ name: "events", type: "File", config: { path: input } }],
    });
    const definition = file("file.json", {
      name: "fileWin",
      pipeline: [
        { $source: { connectionName: "events", timeField: "$ts" } },
        {
          $tumblingWindow: {
            interval: { size: 5, unit: "second" },
            allowedLateness: 0,
            pipeline: [{ $group: { _id: "$device", total: { $sum: "$w" } } }, { $sort: { _id: 1 } }],
          },
        },
      ],
    });
    const { code, stdout, stderr } = sp(["process", definition, "--connections", connections]);
    expect(stderr).toContain("this is not json");
    expect(code).toBe(0);
    const out = lines(stdout);
    expect(
      out.map((d) => [
        d._id,
        d.total,
        (d._stream_meta as { window: { start: Date } }).window.start.toISOString(),
      ]),
    ).toEqual([
      ["a", 4, "2024-01-01T00:00:00.000Z"],
      ["b", 5, "2024-01-01T00:00:00.000Z"],
      ["a", 7, "2024-01-01T00:00:05.000Z"],
    ]);
  });

  it("dead-letters a documents source that is not an array of objects… as a processor error", () => {
    const { code, stderr } = sp(
      ["process", "-"],
      JSON.stringify([{ $source: { documents: { $literal: 5 } } }]),
    );
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/does not evaluate to an array/);
  });

  it("prints help and rejects unknown commands", () => {
    const help = sp(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("process <file.json | ->");
    const unknown = sp(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
  });
});

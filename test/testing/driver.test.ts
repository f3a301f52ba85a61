import { describe, expect, it } from "vitest";
import { parseCases, runTestCase, type TestCase } from "eddy/testing";
import { PassThrough, Readable } from "node:stream";
import { main } from "../../src/cli/main.ts";

function captureIo() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on("data", (chunk: Buffer) => out.push(chunk.toString()));
  stderr.on("data", (chunk: Buffer) => err.push(chunk.toString()));
  return {
    stdin: Readable.from([]),
    stdout,
    stderr,
    stdoutText: () => out.join(""),
    stderrText: () => err.join(""),
  };
}

const hourly = {
  name: "hourly",
  pipeline: [
    { $source: { connectionName: "events", topic: "t", timeField: { $toDate: "$at" } } },
    {
      $tumblingWindow: {
        interval: { size: 1, unit: "hour" },
        pipeline: [{ $group: { _id: "$k", n: { $sum: 1 } } }],
      },
    },
    { $addFields: { closedAt: "$$NOW" } },
    { $merge: { into: { connectionName: "db", db: "d", coll: "c" } } },
  ],
};
const connections = [
  { name: "events", type: "Kafka", config: { bootstrapServers: "x:9092" } },
  { name: "db", type: "Cluster", config: { uri: "mongodb://x" } },
];

function oneCase(raw: object): TestCase {
  return parseCases([raw])[0];
}

describe("eddy/testing: the processor test driver", () => {
  it("closes a one-hour event-time window when the watermark passes it, in virtual time", async () => {
    const started = Date.now();
    const result = await runTestCase({
      definition: hourly,
      connections,
      testCase: oneCase({
        name: "hour",
        steps: [
          {
            input: [
              { k: "a", at: "2026-01-01T00:10:00Z" },
              { k: "a", at: "2026-01-01T00:50:00Z" },
            ],
          },
          { advance: "2h" },
          { watermark: "2026-01-01T01:00:02Z" }, // inside the default 3 s of allowed lateness
          { advance: "1m" },
          { watermark: "2026-01-01T01:00:03Z" },
        ],
        expect: { output: [{ _id: "a", n: 2, closedAt: { $date: "2026-01-01T02:01:00Z" } }] },
      }),
    });
    expect(result.report).toEqual([]);
    expect(result.passed).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000); // no wall-clock wait for the hour
  });

  it("closes a processing-time window when the virtual clock advances", async () => {
    const definition = {
      name: "pt",
      pipeline: [
        { $source: { connectionName: "events", topic: "t" } },
        {
          $tumblingWindow: {
            boundary: "processingTime",
            interval: { size: 1, unit: "hour" },
            pipeline: [{ $count: "n" }],
          },
        },
      ],
    };
    const ptCase = (advance: string) =>
      oneCase({ name: "pt", steps: [{ input: [{ a: 1 }, { a: 2 }] }, { advance }], expect: { output: [] } });
    expect((await runTestCase({ definition, connections, testCase: ptCase("59m") })).output).toEqual([]);
    const result = await runTestCase({ definition, connections, testCase: ptCase("61m") });
    expect(result.output.map((d) => d.n)).toEqual([2]);
  });

  it("answers $lookup from stub collections and reports differences with their JSON paths", async () => {
    const definition = {
      name: "enrich",
      pipeline: [
        { $source: { connectionName: "events", topic: "t" } },
        {
          $lookup: {
            from: { connectionName: "db", db: "shop", coll: "items" },
            localField: "sku",
            foreignField: "sku",
            as: "item",
          },
        },
        { $project: { sku: 1, price: { $first: "$item.price" } } },
      ],
    };
    const result = await runTestCase({
      definition,
      connections,
      testCase: oneCase({
        name: "lookup",
        stubs: {
          collections: {
            "shop.items": [
              { sku: "a", price: 3 },
              { sku: "b", price: 4 },
            ],
          },
        },
        input: [{ _id: 1, sku: "b" }],
        expect: { output: [{ _id: 1, sku: "b", price: 5 }] },
      }),
    });
    expect(result.passed).toBe(false);
    expect(result.output).toMatchObject([{ sku: "b", price: 4 }]);
    expect(result.report[0]).toBe("output[0].price: expected 5, got 4");
  });

  it("fails a case whose $https request has no stub, naming the request", async () => {
    const definition = {
      name: "h",
      pipeline: [
        { $source: { connectionName: "events", topic: "t" } },
        { $https: { connectionName: "api", path: "/x", as: "r" } },
      ],
    };
    const result = await runTestCase({
      definition,
      connections: [...connections, { name: "api", type: "Https", config: { baseUrl: "http://api.test" } }],
      testCase: oneCase({ name: "h", input: [{ a: 1 }], expect: { output: [] } }),
    });
    expect(result.passed).toBe(false);
    expect(result.error).toMatch(/no \$https stub matches GET \/x/);
  });

  it("checks the output per sink target ($merge into a collection named by a field)", async () => {
    const definition = {
      name: "route",
      pipeline: [
        { $source: { connectionName: "events", topic: "t" } },
        { $merge: { into: { connectionName: "db", db: "d", coll: "$kind" } } },
      ],
    };
    const result = await runTestCase({
      definition,
      connections,
      testCase: oneCase({
        name: "route",
        input: [
          { _id: 1, kind: "a" },
          { _id: 2, kind: "b" },
          { _id: 3, kind: "a" },
        ],
        expect: {
          targets: {
            "d.a": [
              { _id: 1, kind: "a" },
              { _id: 3, kind: "a" },
            ],
            "d.b": [{ _id: 9, kind: "b" }],
          },
        },
      }),
    });
    expect(Object.keys(result.targets)).toEqual(["d.a", "d.b"]);
    expect(result.report).toEqual([
      "output to d.b[0]._id: expected 9, got 2",
      '  actual output to d.b[0]: {"_id":2,"kind":"b","_ts":{"$date":"2026-01-01T00:00:00.000Z"},"_stream_meta":{"source":{"type":"kafka"}}}',
    ]);
  });

  it("refuses an invalid case with every problem's JSON path", () => {
    expect(() => parseCases([{ name: "", steps: [{ advance: "soon" }], expect: { output: 3 } }])).toThrow(
      /cases\[0\]\.name.*|cases\[0\]\.steps\[0\]\.advance/,
    );
  });
});

describe("sp test", () => {
  it("runs the examples and exits 0", async () => {
    const io = captureIo();
    const code = await main(
      ["test", "examples/solar-demo.test.json", "examples/corpus-window", "examples/order-fulfillment"],
      io,
    );
    expect(io.stderrText()).toBe("");
    expect(code).toBe(0);
    expect(io.stdoutText()).toMatch(/6 of 6 cases passed/);
  });

  it("prints the differences and exits 1 when a case fails; --json has the same verdict", async () => {
    const { mkdtemp, writeFile } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = await mkdtemp(join(tmpdir(), "sp-test-"));
    await writeFile(
      join(dir, "p.json"),
      JSON.stringify({ name: "p", pipeline: [{ $source: { documents: [{ a: 1 }] } }, { $set: { b: 2 } }] }),
    );
    await writeFile(
      join(dir, "p.test.json"),
      JSON.stringify({ cases: [{ name: "wrong b", expect: { output: [{ a: 1, b: 3 }] } }] }),
    );
    const io = captureIo();
    expect(await main(["test", dir], io)).toBe(1);
    expect(io.stdoutText()).toMatch(/FAIL .*p\.test\.json › wrong b\n\s+output\[0\]\.b: expected 3, got 2/);
    const json = captureIo();
    expect(await main(["test", dir, "--json"], json)).toBe(1);
    const report = JSON.parse(json.stdoutText()) as {
      ok: boolean;
      files: { cases: { passed: boolean }[] }[];
    };
    expect(report.ok).toBe(false);
    expect(report.files[0].cases[0].passed).toBe(false);
  });
});

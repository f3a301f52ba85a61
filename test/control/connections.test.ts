import { describe, expect, it } from "vitest";
import { checkConnection } from "../../src/control/connection-validation.ts";
import { hideConnectionSecrets } from "../../src/control/connection-secrets.ts";
import { KeyedQueue } from "../../src/control/keyed-queue.ts";

describe("checkConnection", () => {
  it("accepts ASP shapes with placeholders", () => {
    expect(
      checkConnection({ name: "atlas", type: "Cluster", config: { uri: "{{MONGODB_URI}}" } }).entry?.type,
    ).toBe("Cluster");
    expect(
      checkConnection({
        name: "k",
        type: "Kafka",
        bootstrapServers: "h:9092",
        authentication: { mechanism: "PLAIN", username: "u", password: "{{PW}}" },
      }).problems,
    ).toBeUndefined();
    expect(
      checkConnection({
        name: "sample_stream_solar",
        type: "Sample",
        config: { rate: "unlimited", count: 10 },
      }).problems,
    ).toBeUndefined();
    expect(
      checkConnection({ name: "fast", type: "Sample", config: { dataset: "sample_stream_solar" } }).problems,
    ).toBeUndefined();
    expect(checkConnection({ name: "fast", type: "Sample" }).problems?.[0]).toMatchObject({
      path: "dataset",
      got: "missing",
    });
  });

  it("checks a File connection's line limit and UTF-8 policy", () => {
    const file = (config: object) =>
      checkConnection({ name: "in", type: "File", config: { path: "-", ...config } });
    expect(file({ maxLineBytes: 1024, invalidUtf8: "replace" }).problems).toBeUndefined();
    expect(file({ maxLineBytes: 0, invalidUtf8: "ignore" }).problems).toEqual([
      expect.objectContaining({ path: "config.maxLineBytes", expected: "positive integer", got: "0" }),
      expect.objectContaining({ path: "config.invalidUtf8", got: '"ignore"' }),
    ]);
  });

  it("reports each problem with its path inside the body", () => {
    expect(checkConnection({ name: "bad name!", type: "Kafka" }).problems).toEqual([
      expect.objectContaining({ path: "name", got: '"bad name!"' }),
    ]);
    expect(checkConnection({ name: "x", type: "Nope" }).problems?.[0]).toMatchObject({
      path: "type",
      got: '"Nope"',
    });
    expect(
      checkConnection({ name: "x", type: "Cluster", config: { clusterName: "c" } }).problems?.[0],
    ).toMatchObject({
      path: "config.uri",
      expected: "non-empty string",
      got: "missing",
    });
    expect(checkConnection({ name: "x", type: "Cluster", uri: "http://nope" }).problems?.[0]).toMatchObject({
      path: "uri",
      expected: "a mongodb:// or mongodb+srv:// URI",
    });
    expect(
      checkConnection({ name: "x", type: "Kafka", config: { bootstrapServers: 5 } }).problems?.[0],
    ).toMatchObject({
      path: "config.bootstrapServers",
      got: "number",
    });
    expect(
      checkConnection({
        name: "x",
        type: "Kafka",
        bootstrapServers: "h:1",
        authentication: { mechanism: "NOPE", username: "u", password: "p" },
      }).problems?.[0].path,
    ).toBe("authentication");
    expect(
      checkConnection({
        name: "sample_stream_solar",
        type: "Sample",
        config: { rate: -1, count: 1.5 },
      }).problems?.map((p) => p.path),
    ).toEqual(["config.rate", "config.count"]);
    expect(checkConnection([1]).problems?.[0]).toMatchObject({ path: "", expected: "object", got: "array" });
  });
});

describe("hideConnectionSecrets", () => {
  it("hides literal secrets and reports them, keeps placeholders", () => {
    const found: string[] = [];
    const shown = hideConnectionSecrets(
      {
        name: "k",
        uri: "mongodb://eddy:s3cr3t@h:1/db",
        placeholderUri: "mongodb://eddy:{{PW}}@h:1/",
        authentication: { username: "u", password: "hunter22" },
        headers: { Authorization: "Bearer {{TOKEN}}", "X-Api-Key": "k-123", Accept: "application/json" },
      },
      (s) => found.push(s),
    );
    expect(shown).toEqual({
      name: "k",
      uri: "mongodb://eddy:***@h:1/db",
      placeholderUri: "mongodb://eddy:{{PW}}@h:1/",
      authentication: { username: "u", password: "***" },
      headers: { Authorization: "Bearer {{TOKEN}}", "X-Api-Key": "***", Accept: "application/json" },
    });
    expect(found.sort()).toEqual(["hunter22", "k-123", "s3cr3t"]);
  });
});

describe("KeyedQueue", () => {
  it("runs operations on one key one at a time, in order, and other keys concurrently", async () => {
    const queue = new KeyedQueue();
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = queue.run("a", async () => {
      events.push("a1 start");
      await gate;
      events.push("a1 end");
    });
    const second = queue.run("a", async () => {
      events.push("a2");
      throw new Error("boom");
    });
    const third = queue.run("a", async () => events.push("a3"));
    await queue.run("b", async () => events.push("b"));
    expect(events).toEqual(["a1 start", "b"]);
    release();
    await first;
    await expect(second).rejects.toThrow("boom");
    await third;
    expect(events).toEqual(["a1 start", "b", "a1 end", "a2", "a3"]);
  });
});

import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  loadWorkspaceVariables,
  MissingVariableError,
  parseEnvFile,
  placeholdersIn,
  resolvePlaceholders,
} from "../../src/control/placeholders.ts";
import { REDACTED, Redactor } from "../../src/control/redactor.ts";

describe("parseEnvFile", () => {
  it("reads KEY=VALUE lines with comments, export and quotes", () => {
    const text = "# comment\nexport A=1\nB = \"two words\"\nC='lit $x'\nD=plain # trailing\n\nnot a line\n";
    expect(parseEnvFile(text)).toEqual({ A: "1", B: "two words", C: "lit $x", D: "plain" });
  });
});

describe("loadWorkspaceVariables", () => {
  it("layers config.txt, .env and the environment, later winning", async () => {
    const dir = await mkdtemp(join(tmpdir(), "eddy-ws-"));
    await writeFile(join(dir, "config.txt"), "A=config\nB=config\nC=config\n");
    await writeFile(join(dir, ".env"), "B=dotenv\nC=dotenv\n");
    const vars = await loadWorkspaceVariables(dir, { C: "env" });
    expect(vars).toMatchObject({ A: "config", B: "dotenv", C: "env" });
  });

  it("works without any file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "eddy-ws-"));
    expect(await loadWorkspaceVariables(dir, { X: "1" })).toEqual({ X: "1" });
  });
});

describe("resolvePlaceholders", () => {
  const connections = {
    connections: [
      {
        name: "kafka",
        type: "Kafka",
        config: { bootstrapServers: "{{BROKERS}}", password: "{{ KAFKA_PASSWORD }}" },
      },
    ],
  };

  it("substitutes deeply and registers the values for redaction", () => {
    const redactor = new Redactor();
    const resolved = resolvePlaceholders(
      connections,
      { BROKERS: "127.0.0.1:9092", KAFKA_PASSWORD: "s3cret-pw" },
      { file: "connections/kafka.json", redactor },
    );
    expect(resolved.connections[0].config).toEqual({
      bootstrapServers: "127.0.0.1:9092",
      password: "s3cret-pw",
    });
    expect(connections.connections[0].config.password).toBe("{{ KAFKA_PASSWORD }}");
    expect(redactor.redact("auth failed for s3cret-pw")).toBe(`auth failed for ${REDACTED}`);
    expect(placeholdersIn(connections).sort()).toEqual(["BROKERS", "KAFKA_PASSWORD"]);
  });

  it("names the missing variable, the file and the path", () => {
    const attempt = () =>
      resolvePlaceholders(connections, { BROKERS: "x" }, { file: "connections/kafka.json" });
    expect(attempt).toThrow(MissingVariableError);
    expect(attempt).toThrow(
      "connections/kafka.json: connections[0].config.password uses {{KAFKA_PASSWORD}} but KAFKA_PASSWORD is not set",
    );
  });
});

describe("Redactor", () => {
  it("redacts every registered secret, URL-encoded forms and nested values, longest first", () => {
    const redactor = new Redactor();
    redactor.add("p@ss:word");
    redactor.add("p@ss");
    redactor.add("1");
    expect(redactor.size).toBe(2);
    expect(redactor.redact("mongodb://u:p%40ss%3Aword@h p@ss:word p@ss 1")).toBe(
      `mongodb://u:${REDACTED}@h ${REDACTED} ${REDACTED} 1`,
    );
    const deep = redactor.redactDeep({ a: ["x p@ss"], b: { c: 2 } });
    expect(deep).toEqual({ a: [`x ${REDACTED}`], b: { c: 2 } });
    expect(redactor.redactError(new Error("bad p@ss"))).toBe(`bad ${REDACTED}`);
  });
});

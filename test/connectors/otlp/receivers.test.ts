// Receivers are shared per connection and settings: two processors of one connection share one receiver,
// while two workspaces' connections of the same name (or an edited connection) get receivers of their own.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readOtlpConfig } from "../../../src/connectors/otlp/config.ts";
import { acquireReceiver } from "../../../src/connectors/otlp/receivers.ts";
import { uniqueName } from "../../support/services.ts";

describe("OTLP receivers of a process", () => {
  let dir: string;
  beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), "eddy-otlp-receivers-"))));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const config = (name: string, sub: string) =>
    readOtlpConfig(name, { port: 0, spool: { dir: join(dir, sub) } }).config;

  it("share one receiver per connection name and settings", async () => {
    const name = uniqueName("otel");
    const a = await acquireReceiver(name, config(name, "a"), { lingerMs: 0 });
    const b = await acquireReceiver(name, config(name, "a"), { lingerMs: 0 });
    const other = await acquireReceiver(name, config(name, "b"), { lingerMs: 0 });
    try {
      expect(b.receiver).toBe(a.receiver);
      expect(other.receiver).not.toBe(a.receiver);
      expect(other.receiver.port).not.toBe(a.receiver.port);
    } finally {
      for (const lease of [a, b, other]) lease.release();
      await a.receiver.close();
      await other.receiver.close();
    }
  });
});

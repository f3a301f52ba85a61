import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../support/services.ts";

describe("Redis test server", () => {
  const client = createClient({ url: testServices().redisUrl });
  const key = uniqueName("eddy:smoke");

  beforeAll(async () => {
    await client.connect();
  });

  afterAll(async () => {
    await client.del(key);
    client.destroy();
  });

  it("stores, reads, increments and deletes a key", async () => {
    await client.set(key, "41");
    expect(await client.incr(key)).toBe(42);
    expect(await client.get(key)).toBe("42");
    expect(await client.del(key)).toBe(1);
    expect(await client.get(key)).toBeNull();
  });
});

import { describe, expect, it } from "vitest";
import { checkConnection } from "../../src/control/connection-validation.ts";
import { SampleSource } from "../../src/connectors/sample/source.ts";
import { httpsConnection } from "../../src/connectors/https/connection.ts";
import { SAMPLE_DATASETS } from "../../src/connectors/sample/spec.ts";

describe("connection shapes the seed sp tool writes", () => {
  it("accepts an Https connection with baseUrl instead of url, and uses it as the base URL", () => {
    const entry = { name: "api", type: "Https", config: { baseUrl: "https://api.example.com/v1" } };
    expect(checkConnection(entry).problems).toBeUndefined();
    expect(httpsConnection(entry.config, "api").url).toBe("https://api.example.com/v1");
    expect(checkConnection({ name: "api", type: "Https", config: {} }).problems?.[0]).toMatchObject({
      message: "an Https connection needs url (or baseUrl), the base URL of the API",
    });
  });

  it("accepts Sample connections with format and interval, for every sample stream", async () => {
    for (const format of SAMPLE_DATASETS) {
      const entry = {
        name: "test_stream",
        type: "Sample",
        config: { format, interval: { size: 100, unit: "millisecond" }, seed: 12345 },
      };
      expect(checkConnection(entry).problems, format).toBeUndefined();
      const source = new SampleSource(format, { rate: Infinity, count: 2, seed: 1 });
      await source.start();
      const batch = await source.next();
      expect(batch?.records).toHaveLength(2);
      expect(batch?.records[0].doc).toHaveProperty("timestamp");
    }
    expect(
      checkConnection({
        name: "s",
        type: "Sample",
        config: { format: "samplestock", interval: { size: 0, unit: "second" } },
      }).problems?.[0].path,
    ).toMatch(/interval$/);
    expect(
      checkConnection({ name: "s", type: "Sample", config: { format: "nope" } }).problems?.[0].path,
    ).toMatch(/format$/);
  });
});

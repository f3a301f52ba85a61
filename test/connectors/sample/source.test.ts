import { describe, expect, it } from "vitest";
import { SampleSource } from "../../../src/connectors/sample/source.ts";
import { solarDocument, seededRandom } from "../../../src/connectors/sample/solar.ts";
import type { Doc } from "../../../src/mql/index.ts";

async function generate(options: ConstructorParameters<typeof SampleSource>[1]) {
  const source = new SampleSource("sample_stream_solar", options);
  await source.start();
  const docs: Doc[] = [];
  for (let b = await source.next(); b; b = await source.next()) for (const r of b.records) docs.push(r.doc!);
  return docs;
}

describe("sample_stream_solar", () => {
  it("writes ASP's field schema and about 0.5 % fault documents", async () => {
    const noon = Date.UTC(2024, 2, 19, 15, 0, 0);
    const docs = await generate({ count: 20_000, rate: Infinity, seed: 1, clock: { now: () => noon } });
    expect(docs).toHaveLength(20_000);
    const normal = docs.find((d) => d.event_type === 0)!;
    expect(Object.keys(normal)).toEqual([
      "device_id",
      "group_id",
      "timestamp",
      "max_watts",
      "event_type",
      "obs",
    ]);
    expect(normal.timestamp).toBe("2024-03-19T15:00:00.000+00:00");
    const outOfRange = docs.filter((d) => {
      const obs = d.obs as { watts: number; temp: number } | undefined;
      const idOk = /^device_([0-9]|10)$/.test(d.device_id as string);
      const groupOk =
        Number.isInteger(d.group_id) && (d.group_id as number) >= 0 && (d.group_id as number) <= 10;
      const obsOk =
        d.event_type === 1 ||
        (obs !== undefined && obs.watts >= 0 && obs.watts <= 450 && obs.temp >= 5 && obs.temp <= 25);
      return !(idOk && groupOk && obsOk && d.max_watts === 450);
    });
    expect(outOfRange).toEqual([]);
    expect(new Set(docs.map((d) => d.device_id)).size).toBe(11);
    const faults = docs.filter((d) => d.event_type === 1);
    expect(Object.keys(faults[0])).toEqual([
      "device_id",
      "group_id",
      "timestamp",
      "max_watts",
      "event_type",
      "event_details",
    ]);
    expect(faults[0].event_details).toBe("Network error");
    expect(faults.length / docs.length).toBeGreaterThan(0.003);
    expect(faults.length / docs.length).toBeLessThan(0.007);
  });

  it("halves the maxima before noon UTC", () => {
    const random = seededRandom(3);
    const morning = Date.UTC(2024, 0, 1, 6);
    for (let i = 0; i < 2000; i++) {
      const obs = solarDocument(random, morning).obs as { watts: number; temp: number } | undefined;
      if (obs) {
        expect(obs.watts).toBeLessThanOrEqual(225);
        expect(obs.temp).toBeLessThanOrEqual(12);
      }
    }
  });

  it("is deterministic under a seed", async () => {
    const clock = { now: () => 0 };
    expect(await generate({ count: 50, rate: Infinity, seed: 9, clock })).toEqual(
      await generate({ count: 50, rate: Infinity, seed: 9, clock }),
    );
  });

  it("paces documents at the configured rate", async () => {
    let t = 0;
    const clock = { now: () => t };
    const source = new SampleSource("sample_stream_solar", {
      rate: 10,
      clock,
      sleep: async (ms) => {
        t += ms;
      },
    });
    await source.start();
    let count = 0;
    while (t < 10_000) count += (await source.next())!.records.length;
    expect(count).toBeGreaterThanOrEqual(100);
    expect(count).toBeLessThanOrEqual(101);
  });

  it("rejects unknown datasets", () => {
    expect(() => new SampleSource("sample_stream_nope")).toThrow(/unknown sample dataset/);
  });
});

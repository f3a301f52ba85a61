/**
 * The sample streams a Sample connection generates. `sample_stream_solar` is ASP's own (docs/asp-semantics.md
 * §1.4); the others are the formats third-party tooling writes (`format: "sampleiot"` in the seed `sp`
 * tool's connection guide), generated in the same spirit: one flat event per document, seeded.
 */
import type { Doc } from "../../mql/index.ts";
import { solarDocument } from "./solar.ts";

type Generator = (random: () => number, now: number) => Doc;

const pick = <T>(random: () => number, values: readonly T[]): T =>
  values[Math.floor(random() * values.length)];
const round2 = (n: number): number => Math.round(n * 100) / 100;
const iso = (now: number): string => new Date(now).toISOString();

export const SAMPLE_GENERATORS = {
  sample_stream_solar: solarDocument,
  sampleiot: (random, now) => ({
    device_id: `sensor_${Math.floor(random() * 20)}`,
    timestamp: iso(now),
    temperature: round2(15 + random() * 20),
    humidity: round2(30 + random() * 50),
    battery: Math.floor(random() * 101),
    status: random() < 0.02 ? "fault" : "ok",
  }),
  samplestock: (random, now) => ({
    symbol: pick(random, ["MDB", "AAPL", "MSFT", "AMZN", "GOOG"]),
    timestamp: iso(now),
    price: round2(50 + random() * 450),
    quantity: 1 + Math.floor(random() * 500),
    side: random() < 0.5 ? "BUY" : "SELL",
  }),
  sampleweather: (random, now) => ({
    station_id: `station_${Math.floor(random() * 10)}`,
    timestamp: iso(now),
    temperature: round2(-10 + random() * 45),
    wind_speed: round2(random() * 30),
    precipitation: round2(random() < 0.7 ? 0 : random() * 10),
  }),
  samplelog: (random, now) => ({
    timestamp: iso(now),
    service: pick(random, ["api", "auth", "billing", "search"]),
    level: pick(random, ["INFO", "INFO", "INFO", "WARN", "ERROR"]),
    latency_ms: Math.floor(random() * 800),
    status: pick(random, [200, 200, 200, 201, 404, 500]),
  }),
  samplecommerce: (random, now) => ({
    order_id: `order_${Math.floor(random() * 1_000_000)}`,
    customer_id: `customer_${Math.floor(random() * 1000)}`,
    timestamp: iso(now),
    item: pick(random, ["book", "lamp", "shoes", "phone", "mug"]),
    quantity: 1 + Math.floor(random() * 5),
    amount: round2(5 + random() * 295),
  }),
} as const satisfies Readonly<Record<string, Generator>>;

export type SampleDataset = keyof typeof SAMPLE_GENERATORS;

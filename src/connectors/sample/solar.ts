import type { Doc } from "../../mql/index.ts";

/** Deterministic 32-bit PRNG (mulberry32): the same seed gives the same stream of documents. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const SOLAR_MAX_WATTS = 450;
const MAX_TEMP = 25;
const MIN_TEMP = 5;
/** Share of fault documents (`event_type: 1`, no `obs`). */
export const SOLAR_FAULT_RATE = 0.005;

/**
 * One `sample_stream_solar` document as ASP's generator writes it (docs/asp-semantics.md §1.4):
 * `{device_id, group_id, timestamp, max_watts, event_type, obs: {watts, temp}}`, or a fault
 * `{…, event_type: 1, event_details: "Network error"}`. Watts and temperature maxima are halved 00:00–12:00 UTC.
 */
export function solarDocument(random: () => number, now: number): Doc {
  const device = Math.floor(random() * 11);
  const group = Math.floor(random() * 11);
  const timestamp = new Date(now).toISOString().replace("Z", "+00:00");
  const doc: Doc = { device_id: `device_${device}`, group_id: group, timestamp, max_watts: SOLAR_MAX_WATTS };
  if (random() < SOLAR_FAULT_RATE) {
    doc.event_type = 1;
    doc.event_details = "Network error";
    return doc;
  }
  const morning = new Date(now).getUTCHours() < 12;
  const maxWatts = morning ? SOLAR_MAX_WATTS / 2 : SOLAR_MAX_WATTS;
  const maxTemp = morning ? Math.floor(MAX_TEMP / 2) : MAX_TEMP;
  doc.event_type = 0;
  doc.obs = {
    watts: Math.floor(random() * (maxWatts + 1)),
    temp: MIN_TEMP + Math.floor(random() * (maxTemp - MIN_TEMP + 1)),
  };
  return doc;
}

/**
 * `sp validate latency`: writes probe documents into the source collection at a steady rate and times
 * how long each takes to appear in both outputs (the trigger-fed and the stream-fed copy).
 */
import { MongoClient } from "mongodb";
import type { Doc } from "../../mql/index.ts";
import { keyText, type SideReader } from "./sides.ts";

export interface LatencyOptions {
  readonly sourceUri: string;
  readonly db: string;
  readonly coll: string;
  readonly ratePerSecond: number;
  readonly durationMs: number;
  /** Fields every probe document carries (so it passes the processors' filters). */
  readonly template: Doc;
  /** How long to wait for stragglers after the last probe (default 30 s). */
  readonly graceMs?: number;
  readonly onProgress?: (sent: number, arrived: { left: number; right: number }) => void;
}

export interface LatencySummary {
  readonly probes: number;
  readonly left: SideLatency;
  readonly right: SideLatency;
}

export interface SideLatency {
  readonly side: string;
  readonly arrived: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
}

export async function measureLatency(
  left: SideReader,
  right: SideReader,
  options: LatencyOptions,
): Promise<LatencySummary> {
  const client = new MongoClient(options.sourceUri, { appName: "eddy-validate-latency" });
  const run = Date.now().toString(36);
  const sentAt = new Map<string, number>();
  const ids = new Map<string, string>();
  const arrivals = { left: new Map<string, number>(), right: new Map<string, number>() };
  const total = Math.max(1, Math.round((options.ratePerSecond * options.durationMs) / 1000));
  const interval = 1000 / options.ratePerSecond;
  try {
    const collection = client.db(options.db).collection(options.coll);
    const started = Date.now();
    let sent = 0;
    const poll = async () => {
      for (const [name, side] of [
        ["left", left],
        ["right", right],
      ] as const) {
        const pending = [...ids.keys()].filter((key) => !arrivals[name].has(key));
        if (pending.length === 0) continue;
        const found = await side.fetch(pending.map((key) => ids.get(key) as string));
        const now = Date.now();
        for (const key of found.keys())
          if (!arrivals[name].has(key)) arrivals[name].set(key, now - (sentAt.get(key) ?? now));
      }
      options.onProgress?.(sent, { left: arrivals.left.size, right: arrivals.right.size });
    };
    while (sent < total) {
      const due = started + sent * interval;
      if (Date.now() >= due) {
        const id = `eddy-probe-${run}-${sent}`;
        const key = keyText(id);
        ids.set(key, id);
        sentAt.set(key, Date.now());
        await collection.insertOne({
          ...options.template,
          _id: id as never,
          eddyProbe: true,
          probeSentAt: new Date(),
        });
        sent++;
      } else {
        await poll();
        await new Promise((resolve) => setTimeout(resolve, Math.min(50, Math.max(1, due - Date.now()))));
      }
    }
    const deadline = Date.now() + (options.graceMs ?? 30_000);
    while ((arrivals.left.size < total || arrivals.right.size < total) && Date.now() < deadline) {
      await poll();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await collection.deleteMany({ _id: { $in: [...ids.values()] as never[] } });
  } finally {
    await client.close();
  }
  return {
    probes: total,
    left: summarise(left.label, arrivals.left),
    right: summarise(right.label, arrivals.right),
  };
}

function summarise(side: string, arrivals: Map<string, number>): SideLatency {
  const sorted = [...arrivals.values()].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return {
    side,
    arrived: sorted.length,
    p50Ms: at(0.5),
    p95Ms: at(0.95),
    p99Ms: at(0.99),
    maxMs: sorted.at(-1) ?? null,
  };
}

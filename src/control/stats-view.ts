/**
 * ASP's `stats()` reply (docs/asp-semantics.md §7.1) for a processor, live or from the last stats kept: field order
 * `name, processorId, status, scaleFactor, …counters…, ok`, sizes divided by `scale`, per-operator and
 * latency details only when `verbose`.
 */
import { isPlainObject } from "../mql/bson-types.ts";
import type { Doc } from "../mql/index.ts";

export interface StatsRequest {
  readonly verbose?: boolean;
  readonly scale?: number;
}

/** Zero counters for a processor that never ran. */
export const EMPTY_STATS: Doc = {
  inputMessageCount: 0,
  inputMessageSize: 0,
  outputMessageCount: 0,
  outputMessageSize: 0,
  dlqMessageCount: 0,
  dlqMessageSize: 0,
  stateSize: 0,
};

const VERBOSE_ONLY = new Set(["latency", "operatorStats"]);

/**
 * Stats taken at scale 1 (`last`, kept in the store), scaled and trimmed as `request` asks. Live stats come
 * from the supervisor already scaled; pass `alreadyScaled` for those.
 */
export function statsReply(
  stats: Doc,
  identity: { name: string; processorId: string; status: string },
  request: StatsRequest,
  alreadyScaled = false,
): Doc {
  const scale = request.scale ?? 1;
  const body: Doc = {};
  for (const [key, value] of Object.entries(stats)) {
    if (key === "name" || key === "status" || key === "scaleFactor" || key === "ok") continue;
    if (!request.verbose && VERBOSE_ONLY.has(key)) continue;
    body[key] = alreadyScaled ? value : scaled(key, value, scale);
  }
  return { ...identity, scaleFactor: scale, ...body, ok: 1 };
}

/** `stats` (at scale 1) with its sizes divided by `scale`. */
export function scaledStats(stats: Doc, scale: number): Doc {
  return Object.fromEntries(Object.entries(stats).map(([key, value]) => [key, scaled(key, value, scale)]));
}

function scaled(key: string, value: unknown, scale: number): unknown {
  if (scale === 1) return value;
  if (typeof value === "number" && /Size$/.test(key)) return Math.floor(value / scale);
  if (Array.isArray(value)) return value.map((item) => scaled("", item, scale));
  if (isPlainObject(value)) {
    const out: Doc = {};
    for (const [k, v] of Object.entries(value)) out[k] = scaled(k, v, scale);
    return out;
  }
  return value;
}

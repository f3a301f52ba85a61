/**
 * A deliberately naive model of ASP's window semantics (asp-compat §4.2), to check the runtime against:
 * brute-force window enumeration, watermark = max event time seen before the document − 1 ms.
 */
export interface RefEvent {
  readonly t: number;
  readonly k: string;
  readonly v: number;
}

export interface RefWindowResult {
  readonly start: number;
  readonly end: number;
  readonly groups: Map<string, { avg: number; min: number; max: number; count: number }>;
}

export function referenceTimeWindows(
  events: readonly RefEvent[],
  {
    intervalMs,
    hopMs,
    offsetMs,
    latenessMs,
  }: { intervalMs: number; hopMs: number; offsetMs: number; latenessMs: number },
): { windows: RefWindowResult[]; late: { t: number; missed: number[] }[] } {
  const assigned = new Map<number, RefEvent[]>();
  const late: { t: number; missed: number[] }[] = [];
  let maxT = -Infinity;
  for (const e of events) {
    const closedThrough = maxT - 1 - latenessMs;
    const open: number[] = [];
    const missed: number[] = [];
    const firstK = Math.floor((e.t - offsetMs - intervalMs) / hopMs) - 1;
    for (let k = firstK; k * hopMs + offsetMs <= e.t; k++) {
      const start = k * hopMs + offsetMs;
      if (start <= e.t && e.t < start + intervalMs)
        (start + intervalMs <= closedThrough ? missed : open).push(start);
    }
    if (missed.length > 0) late.push({ t: e.t, missed });
    for (const s of open) assigned.set(s, [...(assigned.get(s) ?? []), e]);
    maxT = Math.max(maxT, e.t);
  }
  const windows = [...assigned.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([start, evs]) => {
      const groups = new Map<string, { avg: number; min: number; max: number; count: number }>();
      for (const e of evs) {
        const g = groups.get(e.k) ?? { avg: 0, min: Infinity, max: -Infinity, count: 0 };
        g.avg = (g.avg * g.count + e.v) / (g.count + 1);
        g.min = Math.min(g.min, e.v);
        g.max = Math.max(g.max, e.v);
        g.count++;
        groups.set(e.k, g);
      }
      return { start, end: start + intervalMs, groups };
    });
  return { windows, late };
}

/** Sessions per key: merge every pair of events closer than `gap`, ignoring lateness (all in order). */
export function referenceSessions(
  events: readonly RefEvent[],
  gapMs: number,
): { k: string; start: number; end: number; count: number; sum: number }[] {
  const byKey = new Map<string, number[]>();
  const values = new Map<string, Map<number, number[]>>();
  for (const e of events) {
    byKey.set(e.k, [...(byKey.get(e.k) ?? []), e.t]);
    const m = values.get(e.k) ?? new Map<number, number[]>();
    m.set(e.t, [...(m.get(e.t) ?? []), e.v]);
    values.set(e.k, m);
  }
  const out: { k: string; start: number; end: number; count: number; sum: number }[] = [];
  for (const [k, ts] of byKey) {
    const sorted = [...new Set(ts)].sort((a, b) => a - b);
    let current: number[] = [];
    const flush = (): void => {
      if (current.length === 0) return;
      const vs = current.flatMap((t) => values.get(k)?.get(t) ?? []);
      out.push({
        k,
        start: current[0],
        end: current[current.length - 1] + gapMs,
        count: vs.length,
        sum: vs.reduce((a, b) => a + b, 0),
      });
      current = [];
    };
    for (const t of sorted) {
      if (current.length > 0 && t >= current[current.length - 1] + gapMs) flush();
      current.push(t);
    }
    flush();
  }
  return out.sort((a, b) => a.start - b.start || a.k.localeCompare(b.k));
}

/** Start of the last window on the `offset + k·hop` grid that starts at or before `t` (all epoch ms). */
export function lastWindowStart(t: number, hopMs: number, offsetMs: number): number {
  const r = (t - offsetMs) % hopMs;
  return t - (r < 0 ? r + hopMs : r);
}

/**
 * Starts of every `[start, start + interval)` window on the grid that contains `t`, newest first.
 * Tumbling windows pass `hop = interval` (one window); hop > interval leaves gaps (no window).
 */
export function windowStartsFor(t: number, intervalMs: number, hopMs: number, offsetMs: number): number[] {
  const starts: number[] = [];
  for (let s = lastWindowStart(t, hopMs, offsetMs); s + intervalMs > t; s -= hopMs) starts.push(s);
  return starts;
}

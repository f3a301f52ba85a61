/**
 * Inserts `item` into `sorted` (ascending by `compare`, equal items in arrival order) and trims it to `n`
 * items, dropping from the end (`keep: "first"`) or from the start (`keep: "last"`).
 */
export function insertBounded<T>(
  sorted: T[],
  item: T,
  compare: (a: T, b: T) => number,
  n: number,
  keep: "first" | "last",
): void {
  if (sorted.length >= n) {
    // A full buffer ignores items that would be trimmed straight away.
    if (keep === "first" && compare(item, sorted[sorted.length - 1]) >= 0) return;
    if (keep === "last" && compare(item, sorted[0]) < 0) return;
  }
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(sorted[mid], item) <= 0) lo = mid + 1;
    else hi = mid;
  }
  sorted.splice(lo, 0, item);
  if (sorted.length > n) {
    if (keep === "first") sorted.pop();
    else sorted.shift();
  }
}

/** Merges two bounded sorted buffers (items of `a` first among equals) into a new one. */
export function mergeBounded<T>(
  a: readonly T[],
  b: readonly T[],
  compare: (x: T, y: T) => number,
  n: number,
  keep: "first" | "last",
): T[] {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && compare(a[i], b[j]) <= 0)) out.push(a[i++]);
    else out.push(b[j++]);
  }
  return keep === "first" ? out.slice(0, n) : out.slice(Math.max(0, out.length - n));
}

/**
 * Prometheus counters must never decrease, but a processor's counts can: a restart after an error resumes
 * its stats from the last checkpoint (the documents after it are read again), and a new start resets its
 * restart count. This keeps, per series, an offset that carries the highest value shown so far, so what
 * /metrics shows keeps growing with the work done (replayed documents are counted again: they were processed
 * again). The offsets live as long as the server; after a server restart the counts start from the
 * checkpoint, which Prometheus treats as a counter reset of the new process.
 */
export class MonotonicCounters {
  private readonly series = new Map<string, { shown: number; offset: number }>();

  /** The value to show for `series` whose current raw value is `raw`. */
  adjust(series: string, raw: number): number {
    const entry = this.series.get(series);
    if (!entry) {
      this.series.set(series, { shown: raw, offset: 0 });
      return raw;
    }
    if (raw + entry.offset < entry.shown) entry.offset = entry.shown - raw;
    entry.shown = raw + entry.offset;
    return entry.shown;
  }
}

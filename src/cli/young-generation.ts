import { PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";

/** The young generation `sp process` lets V8 grow to (see capYoungGeneration). */
export const YOUNG_GENERATION_CAP_BYTES = 16 * 1024 * 1024;

/**
 * Stops V8 from growing its young generation past `capBytes`. V8 doubles the young generation (up to 2 ×
 * 64 MiB on a machine this size) whenever more bytes survived scavenges since the last growth than it holds;
 * a processor always has a batch or two alive, so on a long input it reaches the maximum, and `sp process`
 * would sit at well over 200 MiB where a loop over lines stays under 100 MiB. The maximum can only be set
 * when the process starts (`--max-semi-space-size`); what can be changed later is the growth factor, read
 * at each growth: once the young generation has reached `capBytes`, it is set to 1 (no more growth).
 * Checked after each garbage collection (a performance observer of `gc` entries, which keeps nothing
 * alive). EDDY_YOUNG_GENERATION=unbounded (or a `--max-semi-space-size` of the user's own in NODE_OPTIONS)
 * leaves V8's sizing alone.
 */
export function capYoungGeneration(capBytes: number = YOUNG_GENERATION_CAP_BYTES): void {
  if (process.env.EDDY_YOUNG_GENERATION === "unbounded") return;
  if (/--max-semi-space-size/.test(`${process.env.NODE_OPTIONS ?? ""} ${process.execArgv.join(" ")}`)) return;
  const reached = (): boolean =>
    getHeapSpaceStatistics().some(
      (space) => space.space_name === "new_space" && space.space_size >= capBytes,
    );
  const stop = (): void => setFlagsFromString("--semi-space-growth-factor=1");
  if (reached()) return stop();
  const observer = new PerformanceObserver(() => {
    if (!reached()) return;
    stop();
    observer.disconnect();
  });
  observer.observe({ entryTypes: ["gc"] });
}

/**
 * What V8's garbage collector did over a measured part of a run, from `v8.GCProfiler` (the heap before and
 * after each collection): bytes allocated per event, the scavenges with their pauses and the bytes each one
 * kept (copied within the young generation, promoted to the old one), and the mark-compacts. The scavenge
 * pause grows with the bytes that survive it, so those are what to cut for a shorter p99 (docs/performance.md,
 * Kafka → Kafka). Allocation is the heap's growth between collections: nothing is freed outside one.
 */
import { GCProfiler, getHeapStatistics, type GCProfilerResult } from "node:v8";

export interface GcTrace {
  /** Bytes allocated per event (all spaces). */
  allocatedBytesPerEvent: number;
  scavenges: number;
  scavengeMeanMs: number;
  scavengeMaxMs: number;
  /**
   * Mean bytes per scavenge that survived it and stayed young (copied to the other semi-space), and that
   * survived it a second time and moved to the old generation (promoted).
   */
  copiedKbPerScavenge: number;
  promotedKbPerScavenge: number;
  markCompacts: number;
  markCompactMaxMs: number;
  /**
   * The young generation's size when the measured part ended, as V8 reports `new_space` (both semi-spaces:
   * 128 MB at V8's maximum on this machine; `sp process`'s 16 MiB cap shows as 32).
   */
  youngGenerationMb: number;
}

type GcStatistic = GCProfilerResult["statistics"][number];

const spaceUsed = (side: GcStatistic["beforeGC"], names: readonly string[]): number =>
  side.heapSpaceStatistics
    .filter((space) => names.includes(space.spaceName))
    .reduce((sum, space) => sum + space.spaceUsedSize, 0);

const YOUNG = ["new_space", "new_large_object_space"];
const OLD = ["old_space", "large_object_space"];
const round1 = (n: number) => Math.round(n * 10) / 10;

/** Starts recording; `stop(events)` ends it and sums up the collections since. */
export function startGcTrace(): { stop(events: number): GcTrace } {
  const profiler = new GCProfiler();
  const usedAtStart = getHeapStatistics().used_heap_size;
  profiler.start();
  return {
    stop(events) {
      const usedAtEnd = getHeapStatistics().used_heap_size;
      const { statistics } = profiler.stop() ?? { statistics: [] };
      let allocated = 0;
      let usedBefore = usedAtStart;
      const scavenges: { ms: number; copied: number; promoted: number }[] = [];
      const markCompacts: number[] = [];
      for (const gc of statistics) {
        allocated += gc.beforeGC.heapStatistics.usedHeapSize - usedBefore;
        usedBefore = gc.afterGC.heapStatistics.usedHeapSize;
        if (gc.gcType === "Scavenge" || gc.gcType === "MinorMarkSweep") {
          scavenges.push({
            ms: gc.cost / 1000,
            copied: spaceUsed(gc.afterGC, YOUNG),
            promoted: spaceUsed(gc.afterGC, OLD) - spaceUsed(gc.beforeGC, OLD),
          });
        } else if (gc.gcType === "MarkSweepCompact") markCompacts.push(gc.cost / 1000);
      }
      allocated += usedAtEnd - usedBefore;
      const mean = (values: number[]) =>
        values.length === 0 ? 0 : values.reduce((sum, v) => sum + v, 0) / values.length;
      const last = statistics.at(-1)?.afterGC.heapSpaceStatistics.find((s) => s.spaceName === "new_space");
      return {
        allocatedBytesPerEvent: Math.round(allocated / Math.max(1, events)),
        scavenges: scavenges.length,
        scavengeMeanMs: round1(mean(scavenges.map((s) => s.ms))),
        scavengeMaxMs: round1(Math.max(0, ...scavenges.map((s) => s.ms))),
        copiedKbPerScavenge: Math.round(mean(scavenges.map((s) => s.copied)) / 1024),
        promotedKbPerScavenge: Math.round(mean(scavenges.map((s) => s.promoted)) / 1024),
        markCompacts: markCompacts.length,
        markCompactMaxMs: round1(Math.max(0, ...markCompacts)),
        youngGenerationMb: round1((last?.spaceSize ?? 0) / 2 ** 20),
      };
    },
  };
}

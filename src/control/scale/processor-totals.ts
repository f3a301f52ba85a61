/**
 * The top-level stats of a scaled-out processor, the same whichever instance answers (docs/scale-out.md,
 * "Stats"): the counters summed over partitions from the figures kept in the state store (each partition
 * once, see processor-counts.ts), and what only running tasks have (state, watermark, Kafka positions and
 * lag, the readers' dead letters, the verbose `operatorStats` and `latency`) from the live task reports.
 */
import type { KafkaPartitionLag } from "../../runtime/source.ts";
import type { LatencyStats, MessageCountersOutput, OperatorStatsOutput } from "../../runtime/stats.ts";
import { mergeLatency, mergeOperatorStats } from "./merged-stats.ts";
import type { ProcessorCounts } from "./processor-counts.ts";
import type { TaskReport } from "./task-board.ts";

export interface ProcessorTotals extends MessageCountersOutput {
  readonly stateSize: number;
  readonly watermark?: Date;
  readonly kafkaPartitions?: readonly KafkaPartitionLag[];
  readonly kafkaTotalOffsetLag?: number;
  /** Verbose only: the live tasks' merged (merged-stats.ts). */
  readonly latency?: LatencyStats;
  readonly operatorStats?: readonly OperatorStatsOutput[];
}

export function processorTotals(counts: ProcessorCounts, reports: readonly TaskReport[]): ProcessorTotals {
  const partitions = [...counts.partitions.values()];
  const sources = [...counts.sources.values()];
  const sum = <T>(items: readonly T[], figure: (item: T) => number) =>
    items.reduce((total, item) => total + figure(item), 0);
  // With a repartition the input is what the readers read; without, what the partitions read.
  const readers = partitions.filter((p) => !p.repartitioned);
  const marks = reports.flatMap((r) => (r.watermark !== undefined ? [new Date(r.watermark).getTime()] : []));
  const kafkaPartitions = unionOfPartitions(reports);
  const operatorStats = mergeOperatorStats(
    reports.flatMap((r) => (r.operatorStats ? [r.operatorStats] : [])),
  );
  const latency = mergeLatency(reports.flatMap((r) => (r.latency ? [r.latency] : [])));
  return {
    inputMessageCount: sum(sources, (s) => s.inputMessageCount) + sum(readers, (p) => p.inputMessageCount),
    inputMessageSize: sum(sources, (s) => s.inputMessageSize) + sum(readers, (p) => p.inputMessageSize),
    outputMessageCount: sum(partitions, (p) => p.outputMessageCount),
    outputMessageSize: sum(partitions, (p) => p.outputMessageSize),
    // The partitions' dead letters, the readers' (per source partition), and the readers' that name no
    // source partition (live tasks only).
    dlqMessageCount:
      sum(partitions, (p) => p.dlqMessageCount) +
      sum(sources, (s) => s.dlqMessageCount ?? 0) +
      sum(reports, (r) => r.readerDlqMessageCount ?? 0),
    dlqMessageSize:
      sum(partitions, (p) => p.dlqMessageSize) +
      sum(sources, (s) => s.dlqMessageSize ?? 0) +
      sum(reports, (r) => r.readerDlqMessageSize ?? 0),
    stateSize: sum(reports, (r) => r.stateSize ?? 0),
    ...(marks.length > 0 ? { watermark: new Date(Math.min(...marks)) } : {}),
    ...(kafkaPartitions
      ? {
          kafkaPartitions,
          kafkaTotalOffsetLag: sum(kafkaPartitions, (p) => p.partitionOffsetLag ?? 0),
        }
      : {}),
    ...(operatorStats.length > 0 ? { operatorStats } : {}),
    ...(latency ? { latency } : {}),
  };
}

/**
 * Every Kafka partition the tasks read, once: while a partition moves, two tasks may list it; the one that
 * read further is kept.
 */
function unionOfPartitions(reports: readonly TaskReport[]): KafkaPartitionLag[] | undefined {
  if (!reports.some((r) => r.kafkaPartitions !== undefined)) return undefined;
  const union = new Map<string, KafkaPartitionLag>();
  for (const partition of reports.flatMap((r) => r.kafkaPartitions ?? [])) {
    const key = `${partition.topic}:${partition.partition}`;
    const seen = union.get(key);
    if (!seen || partition.currentOffset > seen.currentOffset) union.set(key, partition);
  }
  return [...union.values()].sort((a, b) =>
    a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
  );
}

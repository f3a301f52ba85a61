/**
 * The stats of one task of a scaled-out processor: input counters from the reader (or, without one, from
 * the partitions), output counters and state from the partitions, and the task's own entry in `tasks`
 * (Eddy extension; docs/scale-out.md).
 */
import type { ProcessorStats } from "../../runtime/index.ts";
import { COUNTER_FIELDS, type MessageCountersOutput } from "../../runtime/stats.ts";
import { mergeLatency, mergeOperatorStats } from "./merged-stats.ts";

/** One task in `stats.tasks`. */
export interface TaskStats {
  readonly task: number;
  readonly instance: string;
  /** The partitions this task runs now: of the repartition topic (with a window) or of the source topic. */
  readonly partitions: readonly number[];
  /** Records waiting in those partitions. */
  readonly lag: number;
  /** Checkpoint saves the state store refused because a partition's lease had moved to another task. */
  readonly refusedCheckpoints: number;
}

export interface TaskIdentity {
  readonly task: number;
  readonly instance: string;
  /**
   * Stats of the partitions running now, by partition (verbose ones give the task's `latency` and the
   * partitions' part of its `operatorStats`).
   */
  readonly partitions: ReadonlyArray<readonly [number, ProcessorStats]>;
  readonly refusedCheckpoints: number;
}

type Counter =
  | "inputMessageCount"
  | "inputMessageSize"
  | "outputMessageCount"
  | "outputMessageSize"
  | "dlqMessageCount"
  | "dlqMessageSize"
  | "stateSize";

/** `latest` with each cumulative counter raised to `other`'s where that is higher. */
export function highestCounts<T extends MessageCountersOutput>(latest: T, other: MessageCountersOutput): T {
  const raised: Partial<Record<Counter, number>> = {};
  for (const field of COUNTER_FIELDS) raised[field] = Math.max(latest[field], other[field]);
  return { ...latest, ...raised };
}

export function combineTaskStats(
  reader: ProcessorStats | undefined,
  /** Every partition's stats, running or last seen here (one entry each). */
  partitions: readonly ProcessorStats[],
  identity: TaskIdentity,
): ProcessorStats & { readonly tasks: readonly TaskStats[] } {
  const sum = (field: Counter) => partitions.reduce((total, stats) => total + stats[field], 0);
  const marks = identity.partitions.flatMap(([, stats]) =>
    stats.watermark ? [stats.watermark.getTime()] : [],
  );
  const lag = identity.partitions.reduce((total, [, stats]) => total + (stats.kafkaTotalOffsetLag ?? 0), 0);
  const task: TaskStats = {
    task: identity.task,
    instance: identity.instance,
    partitions: identity.partitions.map(([partition]) => partition),
    lag,
    refusedCheckpoints: identity.refusedCheckpoints,
  };
  const running = identity.partitions.map(([, stats]) => stats);
  // The reader's latency ends at the repartition topic: the task's is its partitions', which write the sink.
  const {
    latency: _readerLatency,
    operatorStats: readerOperators,
    ...base
  }: ProcessorStats = reader ?? {
    name: running[0]?.name ?? "",
    status: running.length > 0 ? "running" : "created",
    scaleFactor: 1,
    stateSize: 0,
    inputMessageCount: sum("inputMessageCount"),
    inputMessageSize: sum("inputMessageSize"),
    outputMessageCount: 0,
    outputMessageSize: 0,
    dlqMessageCount: 0,
    dlqMessageSize: 0,
    kafkaPartitions: running.flatMap((stats) => stats.kafkaPartitions ?? []),
    kafkaTotalOffsetLag: lag,
  };
  return {
    ...base,
    outputMessageCount: sum("outputMessageCount"),
    outputMessageSize: sum("outputMessageSize"),
    // The reader's dead letters (bad input) and the partitions' (window and sink failures).
    dlqMessageCount: (reader?.dlqMessageCount ?? 0) + sum("dlqMessageCount"),
    dlqMessageSize: (reader?.dlqMessageSize ?? 0) + sum("dlqMessageSize"),
    stateSize: running.reduce((total, stats) => total + stats.stateSize, 0),
    ...(marks.length > 0 ? { watermark: new Date(Math.min(...marks)) } : {}),
    ...verboseOf(readerOperators, running),
    tasks: [task],
  };
}

/**
 * The task's `operatorStats` (its reader's operators, then its running partitions' summed) and `latency` (its
 * running partitions'), when their stats are verbose. Only running partitions: their counters continue from
 * their checkpoints wherever they move, so each partition counts once over the tasks.
 */
function verboseOf(
  readerOperators: ProcessorStats["operatorStats"],
  running: readonly ProcessorStats[],
): Pick<ProcessorStats, "latency" | "operatorStats"> {
  const operators = mergeOperatorStats(
    running.flatMap((stats) => (stats.operatorStats ? [stats.operatorStats] : [])),
  );
  const latency = mergeLatency(running.flatMap((stats) => (stats.latency ? [stats.latency] : [])));
  const operatorStats = [...(readerOperators ?? []), ...operators];
  return {
    ...(readerOperators || operators.length > 0 ? { operatorStats } : {}),
    ...(latency ? { latency } : {}),
  };
}

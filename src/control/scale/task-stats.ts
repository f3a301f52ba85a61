/**
 * The stats of one task of a scaled-out processor: the reader's input counters, the windows' output
 * counters and state, and the task's own entry in `tasks` (Eddy extension; docs/scale-out.md).
 */
import type { ProcessorStats } from "../../runtime/index.ts";

/** One task in `stats.tasks`. */
export interface TaskStats {
  readonly task: number;
  readonly instance: string;
  /** Repartition partitions this task holds now (the source's are in `kafkaPartitions`). */
  readonly partitions: readonly number[];
  /** Records waiting in this task's repartition partitions. */
  readonly lag: number;
}

export interface TaskIdentity {
  readonly task: number;
  readonly instance: string;
  readonly partitions: ReadonlyArray<readonly [number, ProcessorStats]>;
}

export function combineTaskStats(
  reader: ProcessorStats | undefined,
  /** Every partition runtime's stats; undefined when the processor has no window (the reader writes the sink). */
  windows: readonly ProcessorStats[] | undefined,
  identity: TaskIdentity,
): ProcessorStats & { readonly tasks: readonly TaskStats[] } {
  const sum = (field: "outputMessageCount" | "outputMessageSize" | "dlqMessageCount" | "dlqMessageSize" | "stateSize") =>
    (windows ?? []).reduce((total, stats) => total + stats[field], 0);
  const marks = identity.partitions.flatMap(([, stats]) => (stats.watermark ? [stats.watermark.getTime()] : []));
  const lag = identity.partitions.reduce((total, [, stats]) => total + (stats.kafkaTotalOffsetLag ?? 0), 0);
  const base: ProcessorStats = reader ?? {
    name: "",
    status: "created",
    scaleFactor: 1,
    stateSize: 0,
    inputMessageCount: 0,
    inputMessageSize: 0,
    outputMessageCount: 0,
    outputMessageSize: 0,
    dlqMessageCount: 0,
    dlqMessageSize: 0,
  };
  const task: TaskStats = {
    task: identity.task,
    instance: identity.instance,
    partitions: identity.partitions.map(([partition]) => partition),
    lag,
  };
  if (windows === undefined) return { ...base, tasks: [task] };
  return {
    ...base,
    outputMessageCount: sum("outputMessageCount"),
    outputMessageSize: sum("outputMessageSize"),
    dlqMessageCount: base.dlqMessageCount + sum("dlqMessageCount"),
    dlqMessageSize: base.dlqMessageSize + sum("dlqMessageSize"),
    stateSize: sum("stateSize"),
    ...(marks.length > 0 ? { watermark: new Date(Math.min(...marks)) } : {}),
    tasks: [task],
  };
}

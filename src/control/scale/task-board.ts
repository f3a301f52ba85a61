/**
 * Where the tasks of scaled-out processors report themselves, in the shared state store, so that any
 * instance's stats show every task: its instance, its partitions, its counters and lag (docs/scale-out.md).
 * Each running task rewrites its entry every few seconds; an entry not rewritten for `staleMs` belongs to
 * a task that is gone (its instance was killed) and is left out.
 */
import type { KafkaPartitionLag } from "../../runtime/source.ts";
import type { LatencyStats, OperatorStatsOutput } from "../../runtime/stats.ts";
import type { StateStore } from "../state-store.ts";
import type { TaskStats } from "./task-stats.ts";

const COLLECTION = "processorTasks";
/** How often a running task reports itself. */
export const TASK_REPORT_INTERVAL_MS = 2_000;

/** One task as `stats.tasks` shows it. */
export interface TaskReport extends TaskStats {
  /** The source partitions its reader holds (`topic:partition`), with a window. */
  readonly sourcePartitions: readonly string[];
  readonly inputMessageCount: number;
  readonly outputMessageCount: number;
  /** When the task last reported. */
  readonly updatedAt: Date;
  // For the processor's top-level stats (processor-totals.ts), not shown in `tasks`:
  /** The state of its running partitions. */
  readonly stateSize?: number;
  /** The lowest watermark of its running partitions (a string once through a JSON store). */
  readonly watermark?: Date | string;
  /** The Kafka partitions it reads: its reader's (the source's), else its partitions'. */
  readonly kafkaPartitions?: readonly KafkaPartitionLag[];
  /** Its reader's dead letters that name no source partition (the others are kept per source partition). */
  readonly readerDlqMessageCount?: number;
  readonly readerDlqMessageSize?: number;
  /** Its reader's operators, then its running partitions' summed (task-stats.ts). */
  readonly operatorStats?: readonly OperatorStatsOutput[];
  /** Its running partitions' latency, merged. */
  readonly latency?: LatencyStats;
}

/** A report as `stats.tasks` shows it. */
export function taskRow(report: TaskReport): Omit<TaskReport, TotalsOnly> {
  const {
    stateSize: _s,
    watermark: _w,
    kafkaPartitions: _k,
    readerDlqMessageCount: _c,
    readerDlqMessageSize: _z,
    operatorStats: _o,
    latency: _l,
    ...row
  } = report;
  return row;
}

type TotalsOnly =
  | "stateSize"
  | "watermark"
  | "kafkaPartitions"
  | "readerDlqMessageCount"
  | "readerDlqMessageSize"
  | "operatorStats"
  | "latency";

export class TaskBoard {
  private readonly store: StateStore;
  private readonly staleMs: number;

  constructor(store: StateStore, staleMs = 3 * TASK_REPORT_INTERVAL_MS) {
    this.store = store;
    this.staleMs = staleMs;
  }

  async report(processorId: string, report: TaskReport): Promise<void> {
    await this.store.put(COLLECTION, `${processorId}/${report.task}`, report);
  }

  async retire(processorId: string, task: number): Promise<void> {
    await this.store.delete(COLLECTION, `${processorId}/${task}`);
  }

  /** The live tasks of processor `processorId`, by task index. */
  async tasks(processorId: string, now = Date.now()): Promise<TaskReport[]> {
    const prefix = `${processorId}/`;
    return (await this.store.list<TaskReport>(COLLECTION))
      .filter(
        ({ id, value }) => id.startsWith(prefix) && now - new Date(value.updatedAt).getTime() <= this.staleMs,
      )
      .map(({ value }) => value)
      .sort((a, b) => a.task - b.task);
  }

  /**
   * Resolves once processor `processorId` has no live task (each retires when it stops; a killed one goes
   * stale), or after `timeoutMs`.
   */
  async untilNone(processorId: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.tasks(processorId)).length > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 250));
  }

  /** Forgets every entry of a dropped processor. */
  async forget(processorId: string): Promise<void> {
    const prefix = `${processorId}/`;
    for (const { id } of await this.store.list(COLLECTION))
      if (id.startsWith(prefix)) await this.store.delete(COLLECTION, id);
  }
}

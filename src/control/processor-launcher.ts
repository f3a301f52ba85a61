/**
 * How the control plane runs one started processor: a ProcessorSupervisor (src/runtime/supervisor.ts)
 * over connectors built from the resolved connection catalog, checkpointing into the state store.
 */
import type { Doc } from "../mql/index.ts";
import type { ConnectionCatalog, ProcessorPlan } from "../pipeline/plan.ts";
import type { CheckpointStore } from "../runtime/checkpoint.ts";
import type { ProcessorStats } from "../runtime/index.ts";
import type { Logger } from "../runtime/log.ts";
import type { SupervisorOptions, SupervisorStatus } from "../runtime/supervisor.ts";
import type { LeaseSettings } from "./lease-placement.ts";
import type { TaskReport } from "./scale/task-board.ts";
import { openProcessorParts } from "./processor-parts.ts";

export interface LaunchRequest {
  readonly plan: ProcessorPlan;
  /** Resolved connections (secrets filled in). */
  readonly catalog: ConnectionCatalog;
  readonly checkpoints: CheckpointStore;
  readonly onOutput: (docs: readonly Doc[]) => void;
  readonly onDeadLetters?: (records: readonly Doc[]) => void;
  readonly onStatus: (status: SupervisorStatus) => void;
  /** Set for a processor with `options.parallelism` above 1: which of its tasks runs here. */
  readonly task?: TaskLaunch;
}

/** One task of a scaled-out processor (docs/scale-out.md). */
export interface TaskLaunch {
  readonly index: number;
  /** This instance's id (shown in stats). */
  readonly instance: string;
  /**
   * Where each partition's checkpoints are kept (slot 1 only for an exactly-once `$emit`), fenced by the
   * partition lease's token `fence` when leases are on.
   */
  readonly partitionCheckpoints: (partition: number, slot: 0 | 1, fence?: number) => CheckpointStore;
  /** Partition leases, when several instances share the state store. */
  readonly leases?: LeaseSettings & { readonly prefix: string };
  /** Where the task reports itself for every instance's stats. */
  readonly report: (report: TaskReport) => Promise<void>;
  /** Removes the task's report (it stopped). */
  readonly retire: () => Promise<void>;
}

/** One running processor, as the manager drives it (the supervisor's surface). */
export interface ProcessorRun {
  start(): Promise<void>;
  stop(): Promise<ProcessorStats>;
  done(): Promise<ProcessorStats>;
  stats(options?: { verbose?: boolean; scale?: number }): ProcessorStats;
  status(): SupervisorStatus;
}

export type ProcessorLauncher = (request: LaunchRequest) => Promise<ProcessorRun>;

export interface SupervisorLauncherOptions {
  readonly checkpointIntervalMs?: number;
  readonly retry?: SupervisorOptions["retry"];
  /** Where `__testLog` sink output goes. */
  readonly logger: Logger;
}

/** The production launcher: a ProcessorSupervisor per processor. */
export function supervisorLauncher(options: SupervisorLauncherOptions): ProcessorLauncher {
  return async (request) => {
    if (request.task) {
      const { ScaledRun } = await import("./scale/scaled-run.ts");
      return new ScaledRun({
        plan: request.plan,
        catalog: request.catalog,
        task: request.task.index,
        instance: request.task.instance,
        partitionCheckpoints: request.task.partitionCheckpoints,
        ...(request.task.leases ? { leases: request.task.leases } : {}),
        report: request.task.report,
        retire: request.task.retire,
        ...(options.checkpointIntervalMs !== undefined
          ? { checkpointIntervalMs: options.checkpointIntervalMs }
          : {}),
        logger: options.logger,
        onOutput: request.onOutput,
        ...(request.onDeadLetters ? { onDeadLetters: request.onDeadLetters } : {}),
        onStatus: request.onStatus,
      });
    }
    const { ProcessorSupervisor } = await import("../runtime/supervisor.ts");
    return new ProcessorSupervisor({
      plan: request.plan,
      open: (positions) => openProcessorParts(request.plan, request.catalog, positions, options.logger),
      checkpoints: request.checkpoints,
      ...(options.checkpointIntervalMs !== undefined
        ? { checkpointIntervalMs: options.checkpointIntervalMs }
        : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      onOutput: request.onOutput,
      onDeadLetters: request.onDeadLetters,
      onStatus: request.onStatus,
      logger: options.logger,
    });
  };
}

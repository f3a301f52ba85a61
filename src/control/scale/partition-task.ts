/**
 * The windowed half of one task of a scaled-out processor: a ProcessorRuntime per repartition partition the
 * consumer group assigned to this task, each restored from and checkpointing to that partition's own
 * checkpoint, so a partition moving to another task takes its window state, watermark and position along.
 *
 * On a change of assignment the task stops only the partitions revoked from it (each writes a final
 * checkpoint) and starts only those newly assigned, from their checkpoints; the partitions it keeps run on.
 * The group uses Kafka's cooperative-sticky assignor, so a rebalance moves as few partitions as it can
 * (docs/scale-out.md). A partition's checkpoints are written only
 * under its partition lease: a new holder waits for the old one to release it (after its final checkpoint)
 * or, when the old holder died, for the lease to expire, so two tasks never write one partition's state.
 * The checkpoints are fenced by the lease's token, so a holder paused past the lease's expiry cannot
 * overwrite the new holder's: its save is refused atomically by the store and the partition stops here.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  checkpointTopicMismatch,
  FeedSource,
  PartitionFeed,
  type FeedDecoder,
} from "../../connectors/kafka/partition-feed.ts";
import type { Doc } from "../../mql/index.ts";
import type { ProcessorPlan } from "../../pipeline/plan.ts";
import type { CheckpointStore } from "../../runtime/checkpoint.ts";
import type { DlqWriter } from "../../runtime/dlq.ts";
import type { Logger } from "../../runtime/log.ts";
import { ProcessorRuntime, type RuntimeOptions } from "../../runtime/runtime.ts";
import type { Sink } from "../../runtime/sink.ts";
import type { ProcessorStats } from "../../runtime/stats.ts";
import { FencedCheckpoints, type LeaseSettings } from "../lease-placement.ts";
import { LeaseLostError, type FencedWriteError } from "../leases/lease.ts";
import { LeaseKeeper } from "../leases/lease-keeper.ts";
import { highestCounts } from "./task-stats.ts";

/**
 * How often a task retries the lease of a partition the group assigned it (rather than a third of the TTL):
 * the partition's previous holder releases it within about a checkpoint's time, and the partition is taken
 * soon after that instead of up to seconds later (docs/scale-out.md, "Joining").
 */
const HANDOVER_RETRY_MS = 200;

/** What one partition runs with. */
export interface PartitionParts {
  /** The task's shared sink, or the partition's own (an exactly-once `$emit`: one transactional id each). */
  readonly sink: Sink;
  /** The partition's checkpoint store (unfenced: the task fences it with the partition lease). */
  readonly checkpoints: CheckpointStore;
  /** Decodes the partition's messages, continuing from the state its checkpoint saved. */
  decoder(saved: Doc | undefined): FeedDecoder;
  /** Closes what is the partition's own (its sink, when it has one). */
  close(): Promise<void>;
}

export interface PartitionTaskOptions {
  readonly plan: ProcessorPlan;
  readonly feed: (onAssignment: () => void) => PartitionFeed;
  /** The topic whose partitions the feed hands out. */
  readonly topic: string;
  /** Whether that is the repartition topic (else the source topic). */
  readonly repartitioned: boolean;
  /** Opens a partition's parts; `fence` is its lease's fencing token, when leases are on. */
  readonly openPartition: (partition: number, fence: number | undefined) => Promise<PartitionParts>;
  readonly dlq?: DlqWriter;
  readonly connectorStage?: RuntimeOptions["connectorStage"];
  /** Partition leases (`<leasePrefix><partition>`), when several instances share the store. */
  readonly leases?: LeaseSettings & { readonly prefix: string };
  readonly checkpointIntervalMs?: number;
  readonly logger: Logger;
  readonly onOutput: (docs: readonly Doc[]) => void;
  readonly onDeadLetters?: (records: readonly Doc[]) => void;
  /** A partition runtime failed: the task must stop. */
  readonly onFailure: (error: unknown) => void;
}

interface PartitionRun {
  readonly runtime: ProcessorRuntime;
  readonly source: FeedSource;
  readonly done: Promise<unknown>;
  readonly keeper: LeaseKeeper | undefined;
  readonly parts: PartitionParts;
}

export class PartitionTask {
  private readonly options: PartitionTaskOptions;
  private readonly feed: PartitionFeed;
  private readonly runs = new Map<number, PartitionRun>();
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  /**
   * The last stats of each partition that ran here and stopped (moved away, lease lost), so the task's
   * counters never go backwards; see `stats`.
   */
  private readonly departed = new Map<number, ProcessorStats>();
  /** Checkpoint saves the store refused because a newer holder had taken the partition's lease. */
  private refused = 0;

  constructor(options: PartitionTaskOptions) {
    this.options = options;
    this.feed = options.feed(() => this.rebalance());
  }

  async start(): Promise<void> {
    await this.feed.start();
    this.rebalance();
  }

  /** The partitions running here. */
  partitions(): number[] {
    return [...this.runs.keys()].sort((a, b) => a - b);
  }

  private rebalance(): void {
    this.chain = this.chain
      .then(() => this.reassign())
      .catch((error: unknown) => this.options.onFailure(error));
  }

  /**
   * Follows the group's assignment incrementally: partitions revoked from this task stop (each after a final
   * checkpoint) and release their leases, newly assigned ones start from their checkpoints once their leases
   * are free, and partitions the task keeps run on untouched (no restart, no checkpoint reload, no re-read).
   */
  private async reassign(): Promise<void> {
    if (this.stopped) return;
    const wanted = this.feed.assigned();
    if (wanted.join(",") === this.partitions().join(",")) return;
    const stopped = this.partitions().filter((partition) => !wanted.includes(partition));
    await this.stopRuns(stopped);
    for (const partition of stopped) this.feed.release(partition);
    const added = wanted.filter((partition) => !this.runs.has(partition));
    const taken: Array<[number, LeaseKeeper | undefined]> = [];
    const current = () => !this.stopped && this.feed.assigned().join(",") === wanted.join(",");
    for (const partition of added) {
      const keeper = await this.acquire(partition, current);
      if (keeper === "abandoned") {
        // The assignment changed while waiting: give back what was taken and follow the new one.
        await Promise.all(taken.map(([, held]) => held?.stop()));
        if (stopped.length > 0) this.logMoves([], stopped);
        if (!this.stopped) this.rebalance();
        return;
      }
      taken.push([partition, keeper]);
    }
    try {
      for (const [partition, keeper] of taken)
        await this.startRun(partition, keeper).catch(async (error: unknown) => {
          if (!(error instanceof LeaseLostError)) throw error;
          // Its lease moved on before it started (a newer holder claimed its checkpoint): the check below
          // follows the assignment again, which waits for the lease anew.
          await keeper?.stop();
        });
    } catch (error) {
      await Promise.all(taken.filter(([p]) => !this.runs.has(p)).map(([, keeper]) => keeper?.stop()));
      throw error;
    }
    if (taken.length > 0) await this.feed.open(new Map([...this.runs].map(([p, run]) => [p, run.source])));
    this.logMoves(
      taken.flatMap(([partition]) => (this.runs.has(partition) ? [partition] : [])),
      stopped,
    );
    // The assignment may have changed while leases were awaited.
    if (this.feed.assigned().join(",") !== this.partitions().join(",")) this.rebalance();
  }

  private logMoves(started: readonly number[], stopped: readonly number[]): void {
    const moved = started.length > 0 ? "scaled task took partitions" : "scaled task released partitions";
    this.options.logger.info(moved, {
      processor: this.options.plan.name,
      partitions: this.partitions(),
      started,
      stopped,
    });
  }

  /** Starts partition `partition`'s runtime from its checkpoint (under `keeper`'s lease, when leases are on). */
  private async startRun(partition: number, keeper: LeaseKeeper | undefined): Promise<void> {
    const fence = keeper?.current()?.token;
    if (keeper && fence === undefined)
      throw new LeaseLostError(`lost the lease on partition ${partition} before it started`);
    const parts = await this.options.openPartition(partition, fence);
    const store = keeper
      ? new FencedCheckpoints(parts.checkpoints, keeper, (error) => this.refusedCheckpoint(partition, error))
      : parts.checkpoints;
    const resume = await store.load().catch(async (error: unknown) => {
      await parts.close().catch(() => undefined);
      throw error;
    });
    const positions = resume?.sourcePositions;
    const mismatch = checkpointTopicMismatch(positions, this.options.topic, this.options.repartitioned);
    if (mismatch) {
      await parts.close().catch(() => undefined);
      throw new Error(`partition ${partition} of processor '${this.options.plan.name}': ${mismatch}`);
    }
    const decoder = parts.decoder(positions?.taken as Doc | undefined);
    const source = new FeedSource(this.feed, { topic: this.options.topic, partition }, decoder, positions);
    const runtime = new ProcessorRuntime(this.options.plan, {
      source,
      // A runtime never closes its sink: the parts do (a partition's own) or the task (the shared one).
      sink: parts.sink,
      ...(this.options.dlq ? { dlq: this.options.dlq } : {}),
      ...(this.options.connectorStage ? { connectorStage: this.options.connectorStage } : {}),
      checkpoints: store,
      ...(this.options.checkpointIntervalMs !== undefined
        ? { checkpointIntervalMs: this.options.checkpointIntervalMs }
        : {}),
      ...(resume ? { resumeFrom: resume } : {}),
      onOutput: this.options.onOutput,
      ...(this.options.onDeadLetters ? { onDeadLetters: this.options.onDeadLetters } : {}),
    });
    const done = runtime.run();
    done.catch((error: unknown) => {
      if (!this.stopped && this.runs.get(partition)?.runtime === runtime) this.options.onFailure(error);
    });
    this.runs.set(partition, { runtime, done, keeper, parts, source });
  }

  /**
   * Waits for the partition's lease: its previous holder releases it after a final checkpoint, or it
   * expires. "abandoned" when `current()` turns false first (another rebalance).
   */
  private async acquire(
    partition: number,
    current: () => boolean,
  ): Promise<LeaseKeeper | undefined | "abandoned"> {
    const leases = this.options.leases;
    if (!leases) return undefined;
    const { logger } = this.options;
    let acquired = false;
    const keeper: LeaseKeeper = new LeaseKeeper({
      store: leases.store,
      owner: leases.owner,
      ttlMs: leases.ttlMs,
      // The group moved the partition here: its previous holder releases the lease after a final checkpoint.
      retryMs: HANDOVER_RETRY_MS,
      resource: `${leases.prefix}${partition}`,
      onAcquired: () => {
        acquired = true;
      },
      onLost: (error) => {
        logger.warn("partition lease lost", { partition, error: error.message });
        this.rebalanceAfterLoss(partition);
      },
    });
    keeper.start();
    while (!acquired) {
      if (!current()) {
        await keeper.stop();
        return "abandoned";
      }
      await sleep(50);
    }
    return keeper;
  }

  private refusedCheckpoint(partition: number, error: FencedWriteError): void {
    this.refused++;
    this.options.logger.warn("partition checkpoint refused: a newer holder took its lease", {
      processor: this.options.plan.name,
      partition,
      fencingToken: error.token,
      refusedCheckpoints: this.refused,
    });
  }

  private rebalanceAfterLoss(partition: number): void {
    const run = this.runs.get(partition);
    if (!run) return;
    // Its checkpoints now fail (fenced): stop it without one. While the group still assigns the partition
    // here, take it again (from its last checkpoint) once the lease is free.
    this.runs.delete(partition);
    this.depart(partition, run.runtime.stats({ verbose: true }));
    run.runtime.stop();
    void run.done
      .catch(() => undefined)
      .finally(() => {
        // What it counted while stopping (its last batch) too.
        this.depart(partition, run.runtime.stats({ verbose: true }));
        return run.parts.close().catch(() => undefined);
      });
    this.rebalance();
  }

  /** Keeps a stopped partition's last stats, never lower than what an earlier run here left. */
  private depart(partition: number, stats: ProcessorStats): void {
    const earlier = this.departed.get(partition);
    this.departed.set(partition, earlier ? highestCounts(stats, earlier) : stats);
  }

  /** Stops the runtimes of `partitions` (default: all), each after a final checkpoint, and frees their leases. */
  private async stopRuns(partitions: readonly number[] = this.partitions()): Promise<void> {
    const stopping = partitions.flatMap((partition) => {
      const run = this.runs.get(partition);
      return run ? [[partition, run] as const] : [];
    });
    const runs = stopping.map(([, run]) => run);
    for (const [partition, run] of stopping) {
      this.runs.delete(partition);
      this.depart(partition, run.runtime.stats({ verbose: true }));
      run.runtime.stop();
    }
    await Promise.allSettled(runs.map((run) => run.done));
    for (const [partition, run] of stopping) this.depart(partition, run.runtime.stats({ verbose: true }));
    await Promise.all(runs.map((run) => run.parts.close().catch(() => undefined)));
    await Promise.all(runs.map((run) => run.keeper?.stop()));
  }

  /**
   * One entry per partition that ran here: its running runtime's stats, or the last ones it had here. A
   * partition's counts are cumulative (its checkpoint carries them to each new holder); one that left and
   * came back, or restarted from a checkpoint older than what it had counted here (its lease was lost),
   * shows the higher of its counts, so the task's counters never go backwards.
   */
  stats(): ProcessorStats[] {
    return this.statsByPartition().map(([, stats]) => stats);
  }

  /** `stats()` with each entry's partition. */
  statsByPartition(): Array<[number, ProcessorStats]> {
    const running = new Map([...this.runs].map(([p, run]) => [p, run.runtime.stats({ verbose: true })]));
    const partitions = new Set([...this.departed.keys(), ...running.keys()]);
    return [...partitions].map((partition) => {
      const now = running.get(partition);
      const before = this.departed.get(partition);
      return [partition, now && before ? highestCounts(now, before) : ((now ?? before) as ProcessorStats)];
    });
  }

  /** Checkpoint saves refused because the partition's lease had moved on (logged each time). */
  refusedCheckpoints(): number {
    return this.refused;
  }

  /** Stats of the partitions running here now, by partition. */
  running(options: { verbose?: boolean; scale?: number } = {}): Array<[number, ProcessorStats]> {
    return [...this.runs].map(([partition, run]) => [partition, run.runtime.stats(options)]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.chain;
    await this.stopRuns();
    await this.feed.close();
  }
}

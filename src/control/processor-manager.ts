/**
 * Owns every processor's lifecycle: create, modify, start, stop, drop, and the end of its runs, with the
 * definition and state kept in the state store. Its parts: preparing a start (processor-preparation),
 * checking a modify (processor-modification), the runs active here (running-processors), starts under
 * leases (leased-starts), reading stats, samples and metrics (processor-readings) and the API view
 * (processor-view). Operations on one processor run one at a time (a
 * per-processor queue); different processors proceed concurrently. Started processors run under a
 * supervisor and come back after a server restart, resuming from their checkpoint.
 */
import { randomBytes } from "node:crypto";
import type { Doc } from "../mql/index.ts";
import type { ProcessorStats } from "../runtime/index.ts";
import { createCheckpoints } from "../connectors/factory.ts";
import { repartitionTopic } from "../connectors/kafka/repartition.ts";
import type { Logger } from "../runtime/log.ts";
import type { CheckpointStore } from "../runtime/checkpoint.ts";
import {
  clearPartitionCheckpoints,
  clearProcessorCheckpoints,
  partitionCheckpoints,
  processorCheckpoints,
} from "./checkpoint-store.ts";
import { FencedCheckpoints, type LeaseSettings, type PlacedProcessor } from "./lease-placement.ts";
import { LeasedStarts } from "./leased-starts.ts";
import { LeaseLostError } from "./leases/lease.ts";
import type { LeaseKeeper } from "./leases/lease-keeper.ts";
import type { ConnectionRegistry } from "./connection-registry.ts";
import { ControlError, conflict, controlError, notFound } from "./errors.ts";
import { KeyedQueue } from "./keyed-queue.ts";
import { ProcessorCountsStore } from "./scale/processor-counts.ts";
import { processorTotals, type ProcessorTotals } from "./scale/processor-totals.ts";
import { TaskBoard, taskRow, type TaskReport } from "./scale/task-board.ts";
import {
  describeKafkaDrop,
  dropScaledKafkaResources,
  type KafkaDropResult,
} from "./scale/scaled-resources.ts";
import { modifyRefusal, startRefusal, stopRefusal, type ProcessorState } from "./lifecycle.ts";
import type { PipelineAccess } from "./file-access.ts";
import { connectionsOfPlan } from "./plan-connections.ts";
import { checkDefinition, type PlanningOptions, type StartOptions } from "./processor-definition.ts";
import type { ProcessorLauncher, TaskLaunch } from "./processor-launcher.ts";
import {
  processorDeadLetters,
  processorMetrics,
  processorSample,
  processorSampleAfter,
  type SamplePage,
  processorStats,
  type ProcessorMetrics,
} from "./processor-readings.ts";
import { planModification, type ModifyRequest } from "./processor-modification.ts";
import { prepareProcessor, type PreparedProcessor } from "./processor-preparation.ts";
import { processorKey, ProcessorRegistry, type ProcessorRecord } from "./processor-registry.ts";
import { processorView, type ProcessorView } from "./processor-view.ts";
import type { Redactor } from "./redactor.ts";
import { RunningProcessors, type RunningProcessor } from "./running-processors.ts";
import type { StateStore } from "./state-store.ts";
import { ProcessorObservations } from "./processor-observations.ts";
import type { StatsSnapshot } from "./stats-history.ts";
import { scaledStats, statsReply, type StatsRequest } from "./stats-view.ts";
import type { WorkspaceRegistry } from "./workspace-registry.ts";

export type { ProcessorMetrics } from "./processor-readings.ts";
export type { ProcessorView } from "./processor-view.ts";
export type { ModifyRequest } from "./processor-modification.ts";

/** What a drop did beyond the processor's own state. */
export interface DropReport {
  /** A scaled-out processor's Kafka topic and consumer groups: deleted, absent, kept, or why not deleted. */
  readonly kafka?: readonly KafkaDropResult[];
}

/** How long a drop waits for the tasks of a scaled-out processor on other instances to stop. */
const DROP_TASKS_WAIT_MS = 10_000;

export interface ProcessorManagerOptions {
  readonly store: StateStore;
  readonly workspaces: WorkspaceRegistry;
  readonly connections: ConnectionRegistry;
  readonly redactor: Redactor;
  readonly logger: Logger;
  readonly launch: ProcessorLauncher;
  /** Where `.env`/`config.txt` are read for workspaces without their own folder. */
  readonly envDir: string;
  readonly env?: NodeJS.ProcessEnv;
  /** What pipelines may read (`sp serve`: an allow-list of variables, File paths in allowed folders); absent: all. */
  readonly access?: PipelineAccess;
  /** How often running processors' stats are added to the stats history (default 10 s). */
  readonly statsIntervalMs?: number;
  /**
   * Set when several instances share the state store: each STARTED processor then runs on the one
   * instance holding its lease, and the others stand by.
   */
  readonly leases?: LeaseSettings;
}

export class ProcessorManager {
  private readonly options: ProcessorManagerOptions;
  private readonly registry: ProcessorRegistry;
  private readonly observations: ProcessorObservations;
  private readonly queue = new KeyedQueue();
  private readonly active = new RunningProcessors();
  private closing = false;
  private readonly leases: LeasedStarts | undefined;
  private readonly tasks: TaskBoard;
  private readonly partitionCounts: ProcessorCountsStore;

  constructor(options: ProcessorManagerOptions) {
    this.options = options;
    this.registry = new ProcessorRegistry(options.store);
    this.observations = new ProcessorObservations(options.store, options.redactor, options.logger);
    this.tasks = new TaskBoard(options.store);
    this.partitionCounts = new ProcessorCountsStore(options.store);
    if (options.leases) {
      this.leases = new LeasedStarts({
        ...options.leases,
        logger: options.logger,
        wanted: async () =>
          (await this.registry.list())
            .filter((r) => r.state === "STARTED")
            .flatMap((r) => this.placements(r)),
        runHere: (processor, keeper) =>
          this.queue.run(processor.key, () => this.runLeased(processor, keeper)),
        haltHere: async (processor) => {
          await this.queue.run(processor.key, () => this.halt(processor.key, processor.task));
        },
      });
    }
  }

  /** This instance's lease holder id when leases are on. */
  get instanceId(): string | undefined {
    return this.options.leases?.owner;
  }

  /** Starts the stats history timer and brings back every processor that was STARTED. */
  async resumeStarted(): Promise<void> {
    this.observations.startRecording(this.options.statsIntervalMs ?? 10_000, () => this.active.values());
    if (this.leases) {
      this.leases.start();
      return;
    }
    const started = (await this.registry.list()).filter((r) => r.state === "STARTED");
    await Promise.all(
      started.map((record) =>
        this.queue.run(processorKey(record.workspace, record.name), async () => {
          try {
            await this.launch(record, {});
            this.options.logger.info("processor resumed", {
              workspace: record.workspace,
              processor: record.name,
            });
          } catch (error) {
            await this.fail(record, error);
          }
        }),
      ),
    );
  }

  async list(workspace: string): Promise<ProcessorView[]> {
    await this.options.workspaces.require(workspace);
    return (await this.registry.list(workspace)).map((r) => this.view(r));
  }

  async get(workspace: string, name: string): Promise<ProcessorView> {
    return this.view(await this.require(workspace, name));
  }

  async create(workspace: string, body: unknown, planning: PlanningOptions = {}): Promise<ProcessorView> {
    await this.options.workspaces.require(workspace);
    const catalog = await this.options.connections.catalog(workspace);
    const definition = checkDefinition(body, catalog, planning);
    return this.serial(workspace, definition.name, async () => {
      if (await this.registry.find(workspace, definition.name))
        throw this.duplicate(workspace, definition.name);
      const now = new Date();
      const record: ProcessorRecord = {
        id: randomBytes(12).toString("hex"),
        name: definition.name,
        workspace,
        pipeline: definition.pipeline,
        options: definition.options,
        state: "CREATED",
        createdAt: now,
        lastModified: now,
        lastStateChange: now,
        ...(planning.ephemeral ? { ephemeral: true } : {}),
      };
      await this.registry.put(record);
      this.options.logger.info("processor created", { workspace, processor: record.name });
      return this.view(record);
    });
  }

  async start(workspace: string, name: string, options: StartOptions = {}): Promise<ProcessorView> {
    return this.serial(workspace, name, async () => {
      const record = await this.require(workspace, name);
      const refusal = startRefusal(record.state, workspace, name);
      if (refusal) throw refusal;
      if (this.leases) return this.startLeased(record, this.leases, options);
      try {
        await this.launch(record, options);
      } catch (error) {
        if (error instanceof ControlError) throw error;
        const failed = await this.fail(record, error);
        throw controlError("start-failed", "PROCESSOR_START_FAILED", { name, error: failed.errorMsg ?? "" });
      }
      const started = await this.setState(record, "STARTED");
      this.options.logger.info("processor started", { workspace, processor: name });
      return this.view(started);
    });
  }

  /** Stops a STARTED processor gracefully (final checkpoint); the reply carries its final stats, as ASP's stop does. */
  async stop(workspace: string, name: string): Promise<ProcessorView & { stats?: Doc }> {
    return this.serial(workspace, name, async () => {
      const record = await this.require(workspace, name);
      const refusal = stopRefusal(record.state, workspace, name);
      if (refusal) throw refusal;
      const final = await this.halt(processorKey(workspace, name));
      await this.unplace(record.id);
      const stopped = await this.setState(record, "STOPPED");
      this.options.logger.info("processor stopped", { workspace, processor: name });
      const stats = final
        ? statsReply(toDoc(final), { name, processorId: record.id, status: "stopped" }, { verbose: false })
        : undefined;
      return { ...this.view(stopped), ...(stats ? { stats } : {}) };
    });
  }

  async modify(workspace: string, name: string, change: ModifyRequest): Promise<ProcessorView> {
    return this.serial(workspace, name, async () => {
      const record = await this.require(workspace, name);
      const refusal = modifyRefusal(record.state, workspace, name);
      if (refusal) throw refusal;
      const catalog = await this.options.connections.catalog(workspace);
      const { definition, resume } = planModification(record, change, catalog);
      const newName = definition.name;
      if (newName !== record.name && (await this.registry.find(workspace, newName))) {
        throw this.duplicate(workspace, newName);
      }
      if (!resume) await this.forgetCheckpoints(record.id);
      const modified: ProcessorRecord = {
        ...record,
        name: newName,
        pipeline: definition.pipeline,
        options: definition.options,
        lastModified: new Date(),
      };
      await this.registry.put(modified);
      if (newName !== record.name) await this.registry.delete(workspace, record.name);
      this.options.logger.info("processor modified", {
        workspace,
        processor: newName,
        resumeFromCheckpoint: resume,
      });
      return this.view(modified);
    });
  }

  /**
   * Deletes a processor and its state. A scaled-out one's Kafka repartition topic and consumer groups are
   * deleted too, once its tasks on every instance have stopped; the reply says what became of each, and a
   * failure there is reported without undoing the drop.
   */
  async drop(workspace: string, name: string): Promise<DropReport> {
    return this.serial(workspace, name, async () => {
      const record = await this.require(workspace, name);
      await this.halt(processorKey(workspace, name));
      await this.unplace(record.id);
      await this.registry.delete(workspace, name);
      await this.forgetCheckpoints(record.id);
      await this.observations.forget(record.id);
      const kafka = parallelismOf(record) > 1 ? await this.dropKafkaResources(record) : undefined;
      await this.tasks.forget(record.id);
      // Again: tasks on other instances keep their final counts as they stop.
      await this.partitionCounts.forget(record.id);
      this.options.logger.info("processor dropped", {
        workspace,
        processor: name,
        ...(kafka ? { kafka: describeKafkaDrop(kafka) } : {}),
      });
      return kafka ? { kafka } : {};
    });
  }

  /** A scaled-out processor's repartition topic and groups, after its tasks elsewhere stopped (or went stale). */
  private async dropKafkaResources(record: ProcessorRecord): Promise<KafkaDropResult[] | undefined> {
    await this.tasks.untilNone(record.id, DROP_TASKS_WAIT_MS);
    const catalog = await this.options.connections.catalog(record.workspace);
    try {
      return await dropScaledKafkaResources(record, catalog);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return [{ kind: "topic", name: repartitionTopic(record.name), result: "failed", error: message }];
    }
  }

  /** Drops every processor of a workspace (none may be STARTED). */
  async dropAll(workspace: string): Promise<void> {
    const running = this.active.inWorkspace(workspace);
    if (running.length > 0) {
      throw conflict("WORKSPACE_IN_USE", {
        workspace,
        reason: `it has started processors (${running.join(", ")}); stop them first`,
      });
    }
    for (const record of await this.registry.list(workspace)) await this.drop(workspace, record.name);
  }

  async stats(workspace: string, name: string, request: StatsRequest): Promise<Doc> {
    const record = await this.require(workspace, name);
    const reply = await processorStats(record, this.active, this.observations, request);
    if (parallelismOf(record) <= 1) return reply;
    // The processor's own figures from every task's, the same on every instance (docs/scale-out.md, Stats),
    // and every task, wherever it runs.
    const { totals, reports } = await this.processorWide(record.id);
    const { latency: _latency, operatorStats: _operators, ...counters } = totals;
    const scaled = scaledStats(request.verbose ? { ...totals } : counters, request.scale ?? 1);
    // This instance's own task's watermark and Kafka positions (or its last run's) give way to the tasks'.
    const { watermark: _w, kafkaPartitions: _k, kafkaTotalOffsetLag: _l, ok, ...own } = reply.stats as Doc;
    return { ...reply, stats: { ...own, ...scaled, tasks: reports.map(taskRow), ok } };
  }

  async statsHistory(workspace: string, name: string): Promise<readonly StatsSnapshot[]> {
    const record = await this.require(workspace, name);
    return (await this.observations.history.get(record.id)).history;
  }

  /** Up to `limit` recent outputs; waits up to `timeoutMs` for the first ones while the processor runs. */
  async sample(
    workspace: string,
    name: string,
    limit: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Doc[]> {
    const record = await this.require(workspace, name);
    return processorSample(record, this.active, this.observations, { limit, timeoutMs, signal });
  }

  /** Up to `limit` of the last dead-letter records of the processor's current or last run here. */
  async recentDeadLetters(workspace: string, name: string, limit: number): Promise<Doc[]> {
    return processorDeadLetters(await this.require(workspace, name), this.observations, limit);
  }

  /**
   * A sample cursor's next page: up to `limit` outputs after `position` (from `samplePosition`), waiting up to
   * `timeoutMs` for new ones while the processor runs; `running` is false once nothing more will come.
   */
  async sampleAfter(
    workspace: string,
    name: string,
    position: number,
    wait: { readonly limit: number; readonly timeoutMs: number; readonly signal?: AbortSignal },
  ): Promise<SamplePage> {
    return processorSampleAfter(
      await this.require(workspace, name),
      this.active,
      this.observations,
      position,
      wait,
    );
  }

  /** Where a sample cursor opened now starts: after the outputs produced so far. */
  async samplePosition(workspace: string, name: string): Promise<number> {
    const record = await this.require(workspace, name);
    return this.observations.tap(record.id)?.position ?? 0;
  }

  /** Names of the STARTED processors of a workspace using connection `connection`. */
  runningUsing(workspace: string, connection: string): string[] {
    return this.active.usingConnection(workspace, connection);
  }

  runningIn(workspace: string): string[] {
    return this.active.inWorkspace(workspace);
  }

  /** Processor counts per workspace (for the workspace list). */
  async counts(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const record of await this.registry.list())
      counts.set(record.workspace, (counts.get(record.workspace) ?? 0) + 1);
    return counts;
  }

  /** Each processor's figures here; a scaled-out one's with its processor-wide `totals` (for the console). */
  async metrics(): Promise<ProcessorMetrics[]> {
    const records = await this.registry.list();
    const metrics = await processorMetrics(records, this.active, this.observations);
    return Promise.all(
      metrics.map(async (entry, i) =>
        parallelismOf(records[i]) > 1
          ? { ...entry, totals: (await this.processorWide(records[i].id)).totals }
          : entry,
      ),
    );
  }

  /** A scaled-out processor's top-level figures from every task's (docs/scale-out.md, Stats), and its tasks. */
  private async processorWide(id: string): Promise<{ totals: ProcessorTotals; reports: TaskReport[] }> {
    const reports = await this.tasks.tasks(id);
    return { totals: processorTotals(await this.partitionCounts.all(id), reports), reports };
  }

  /**
   * Stops every running processor with a final checkpoint but leaves them STARTED in the store, so the next
   * server start brings them back.
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    this.observations.stopRecording();
    await Promise.all(
      this.active.keys().map((key) =>
        this.queue
          .run(key, () => this.halt(key))
          .catch((error: unknown) => {
            this.options.logger.error("processor did not stop cleanly", {
              processor: key,
              error: this.message(error),
            });
          }),
      ),
    );
    await this.queue.idle();
    await this.leases?.close();
  }

  /** Resolves connections, plans (unless `prepared` carries the plan) and starts a run; registers it as active. Throws on any failure. */
  private async launch(
    record: ProcessorRecord,
    options: StartOptions,
    fence?: LeaseKeeper,
    prepared?: PreparedProcessor,
    placedTask?: number,
  ): Promise<void> {
    const { plan, catalog } = prepared ?? (await this.prepare(record, options));
    const task = (plan.parallelism ?? 1) > 1 ? (placedTask ?? 0) : undefined;
    // Under a lease the checkpoints are fenced by its token: a paused ex-holder's save is refused atomically.
    // (A scaled-out task's checkpoints are its partitions', fenced by their own leases.)
    const token = task === undefined ? fence?.current()?.token : undefined;
    const stored = await createCheckpoints(plan, catalog, (slot) =>
      processorCheckpoints(this.options.store, record.id, slot, token),
    );
    const checkpoints: CheckpointStore = fence
      ? new FencedCheckpoints(stored, fence, (error) =>
          this.options.logger.warn("processor checkpoint refused: a newer holder took its lease", {
            processor: record.name,
            workspace: record.workspace,
            fencingToken: error.token,
          }),
        )
      : stored;
    const tap = this.observations.openTap(record.id);
    const deadLetters = this.observations.openDeadLetterTap(record.id);
    const run = await this.options.launch({
      plan,
      catalog,
      checkpoints,
      onOutput: (docs) => tap.push(docs),
      onDeadLetters: (records) => deadLetters.push(records),
      onStatus: (status) => this.observations.setStatus(record.id, status),
      ...(task !== undefined ? { task: this.taskLaunch(record, task) } : {}),
    });
    await run.start();
    const key = processorKey(record.workspace, record.name);
    const active: RunningProcessor = {
      run,
      id: record.id,
      connections: connectionsOfPlan(plan),
      stopping: false,
      ...(task !== undefined ? { task } : {}),
    };
    this.active.add(key, active);
    void run.done().then(
      () => this.finished(key, active),
      (error: unknown) => this.crashed(key, active, error),
    );
  }

  /** Where task `index` of a scaled-out processor keeps its partitions' checkpoints, under which leases. */
  private taskLaunch(record: ProcessorRecord, index: number): TaskLaunch {
    const { store, leases } = this.options;
    return {
      index,
      instance: leases?.owner ?? "local",
      partitionCheckpoints: (partition, slot, fence) =>
        partitionCheckpoints(store, record.id, partition, slot, fence),
      ...(leases ? { leases: { ...leases, prefix: `processor/${record.id}/partition/` } } : {}),
      report: (report) => this.tasks.report(record.id, report),
      retire: () => this.tasks.retire(record.id, index),
      counts: this.partitionCounts.forTask(record.id),
    };
  }

  /**
   * With leases: checks that the processor can start (variables, connections, pipeline), marks it STARTED
   * and competes for its lease; whichever instance takes the lease runs it.
   */
  private async startLeased(
    record: ProcessorRecord,
    leases: LeasedStarts,
    options: StartOptions,
  ): Promise<ProcessorView> {
    // prepare() also discards the checkpoint for resumeFromCheckpoint: false, so the run must not again.
    const prepared = await this.prepare(record, options);
    const started = await this.setState(record, "STARTED");
    for (const placed of this.placements(record))
      leases.want(placed, { options: { ...options, resumeFromCheckpoint: true }, prepared });
    this.options.logger.info("processor started", { workspace: record.workspace, processor: record.name });
    return this.view(started);
  }

  /**
   * The leases a STARTED processor is placed by: its own, or one per task when it has `options.parallelism`
   * above 1. An instance runs at most one task of a processor: while it runs one, it competes for no other.
   */
  private placements(record: ProcessorRecord): PlacedProcessor[] {
    const key = processorKey(record.workspace, record.name);
    const tasks = parallelismOf(record);
    if (tasks <= 1) return [{ id: record.id, key }];
    const hosted = this.active.get(key)?.task;
    const indexes = hosted !== undefined ? [hosted] : [...Array(tasks).keys()];
    return indexes.map((task) => ({ id: taskPlacementId(record.id, task), key, recordId: record.id, task }));
  }

  /** Stops competing for a processor's lease (stop, drop, the run ended). */
  private async unplace(id: string): Promise<void> {
    await this.leases?.unwant(id);
  }

  /** This instance took a processor's lease: run it here, its checkpoints fenced by the lease. */
  private async runLeased(processor: PlacedProcessor, keeper: LeaseKeeper): Promise<void> {
    const record = await this.registry.find(...splitKey(processor.key));
    if (!record || record.id !== (processor.recordId ?? processor.id) || record.state !== "STARTED") return;
    if (this.active.has(processor.key) && processor.task !== undefined) {
      // Another task of this processor already runs here: leave this one to another instance.
      void this.leases?.release(processor.id);
      return;
    }
    if (this.active.has(processor.key) || this.closing) return;
    const pending = this.leases?.takePending(record.id);
    try {
      await this.launch(record, pending?.options ?? {}, keeper, pending?.prepared, processor.task);
    } catch (error) {
      await this.fail(record, error);
      throw error;
    }
  }

  /** The processor's plan and resolved catalog; discards its checkpoint for `resumeFromCheckpoint: false`. */
  private async prepare(record: ProcessorRecord, options: StartOptions): Promise<PreparedProcessor> {
    const prepared = await prepareProcessor(record, options, this.options);
    if (options.resumeFromCheckpoint === false) await this.forgetCheckpoints(record.id);
    return prepared;
  }

  /** Stops the active run of `key` (if any; of task `task` only, when given) and keeps its final stats. */
  private async halt(key: string, task?: number): Promise<ProcessorStats | undefined> {
    const active = this.active.get(key);
    if (!active || (task !== undefined && active.task !== task)) return undefined;
    active.stopping = true;
    try {
      const stats = await active.run.stop();
      await this.observations.history.saveLast(active.id, stats);
      return stats;
    } catch (error) {
      this.options.logger.warn("processor stop reported an error", {
        processor: key,
        error: this.message(error),
      });
      return undefined;
    } finally {
      this.active.delete(key);
      this.observations.tap(active.id)?.wake();
    }
  }

  /** A run ended without a stop request: its finite source drained. */
  private finished(key: string, active: RunningProcessor): void {
    if (active.stopping) return;
    void this.queue
      .run(key, async () => {
        if (!this.active.deleteIfCurrent(key, active)) return;
        this.observations.tap(active.id)?.wake();
        await this.observations.history.saveLast(active.id, active.run.stats({ verbose: true }));
        await this.unplace(active.id);
        const record = await this.registry.find(...splitKey(key));
        if (record && !this.closing) await this.setState(record, "STOPPED");
        this.options.logger.info("processor finished: its source has no more input", { processor: key });
      })
      .catch((error: unknown) =>
        this.options.logger.error("processor bookkeeping failed", {
          processor: key,
          error: this.message(error),
        }),
      );
  }

  /** A run failed for good (a permanent error, or retries gave up). */
  private crashed(key: string, active: RunningProcessor, error: unknown): void {
    if (active.stopping) return;
    void this.queue
      .run(key, async () => {
        if (!this.active.deleteIfCurrent(key, active)) return;
        // Another instance holds the processor now: it keeps running there, and its stats are its own.
        if (error instanceof LeaseLostError) return;
        await this.observations.history.saveLast(active.id, active.run.stats({ verbose: true }));
        await this.unplace(active.id);
        const record = await this.registry.find(...splitKey(key));
        // The supervisor's status says how long it retried; the rejection carries only the last error.
        const reason = active.run.status().error?.message;
        if (record) await this.fail(record, reason ? new Error(reason) : error);
      })
      .catch((failure: unknown) =>
        this.options.logger.error("processor bookkeeping failed", {
          processor: key,
          error: this.message(failure),
        }),
      );
  }

  /** The processor's checkpoints, its partitions' (scaled out) included. */
  private async forgetCheckpoints(id: string): Promise<void> {
    await clearProcessorCheckpoints(this.options.store, id);
    await clearPartitionCheckpoints(this.options.store, id);
    await this.partitionCounts.forget(id);
  }

  private async fail(record: ProcessorRecord, error: unknown): Promise<ProcessorRecord> {
    const errorMsg = this.message(error);
    const failed: ProcessorRecord = { ...record, state: "FAILED", errorMsg, lastStateChange: new Date() };
    await this.registry.put(failed);
    this.options.logger.error("processor failed", {
      workspace: record.workspace,
      processor: record.name,
      error: errorMsg,
    });
    return failed;
  }

  private async setState(record: ProcessorRecord, state: ProcessorState): Promise<ProcessorRecord> {
    const { errorMsg: _cleared, ...rest } = record;
    const updated: ProcessorRecord = { ...rest, state, lastStateChange: new Date() };
    if (state === "STARTED") this.observations.clearStatus(record.id);
    await this.registry.put(updated);
    return updated;
  }

  private async require(workspace: string, name: string): Promise<ProcessorRecord> {
    const record = await this.registry.find(workspace, name);
    if (record) return record;
    await this.options.workspaces.require(workspace);
    throw notFound("PROCESSOR_NOT_FOUND", { name, workspace });
  }

  private serial<T>(workspace: string, name: string, operation: () => Promise<T>): Promise<T> {
    if (this.closing) {
      return Promise.reject(conflict("SHUTTING_DOWN", {}));
    }
    return this.queue.run(processorKey(workspace, name), operation);
  }

  private duplicate(workspace: string, name: string): ControlError {
    return conflict("PROCESSOR_ALREADY_EXISTS", { name, workspace });
  }

  private view(record: ProcessorRecord): ProcessorView {
    const active = this.active.get(processorKey(record.workspace, record.name));
    const status =
      active?.run.status() ?? (record.state === "FAILED" ? this.observations.status(record.id) : undefined);
    return processorView(record, status, this.options.redactor);
  }

  private message(error: unknown): string {
    return this.options.redactor.redactError(error);
  }
}

/** `options.parallelism` of a stored definition (1 when unset). */
function parallelismOf(record: ProcessorRecord): number {
  const value = record.options?.parallelism;
  return typeof value === "number" && Number.isInteger(value) && value > 1 ? value : 1;
}

/** The lease of task `task` of processor `id` is `processor/<id>/task/<task>`. */
function taskPlacementId(id: string, task: number): string {
  return `${id}/task/${task}`;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf("/");
  return [key.slice(0, slash), key.slice(slash + 1)];
}

function toDoc(stats: ProcessorStats): Doc {
  return { ...stats };
}

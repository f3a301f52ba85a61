/**
 * Owns every processor's lifecycle: create, modify, start, stop, drop, stats and sample, with the
 * definition and state kept in the state store. Operations on one processor run one at a time (a
 * per-processor queue); different processors proceed concurrently. Started processors run under a
 * supervisor and come back after a server restart, resuming from their checkpoint.
 */
import { randomBytes } from "node:crypto";
import type { Doc } from "../mql/index.ts";
import { slotKey, type ProcessorStats } from "../runtime/index.ts";
import { createCheckpoints } from "../connectors/factory.ts";
import type { Logger } from "../runtime/log.ts";
import type { SupervisorStatus } from "../runtime/supervisor.ts";
import type { CheckpointStore } from "../runtime/checkpoint.ts";
import type { ProcessorPlan, ConnectionCatalog } from "../pipeline/plan.ts";
import { StateStoreCheckpoints } from "./checkpoint-store.ts";
import {
  FencedCheckpoints,
  LeasePlacement,
  type LeaseSettings,
  type PlacedProcessor,
} from "./lease-placement.ts";
import { LeaseLostError } from "./leases/lease.ts";
import type { LeaseKeeper } from "./leases/lease-keeper.ts";
import type { ConnectionRegistry } from "./connection-registry.ts";
import { ControlError, conflict, invalid, notFound } from "./errors.ts";
import { KeyedQueue } from "./keyed-queue.ts";
import { modifyRefusal, startRefusal, statsStatus, stopRefusal, type ProcessorState } from "./lifecycle.ts";
import { modifyRefusalReason } from "./modify-rules.ts";
import { nameProblem } from "./names.ts";
import { checkCatalogFileAccess, type PipelineAccess } from "./file-access.ts";
import {
  envAllowed,
  loadWorkspaceVariables,
  MissingVariableError,
  resolvePlaceholders,
} from "./placeholders.ts";
import { connectionsOfPlan } from "./plan-connections.ts";
import {
  checkDefinition,
  planDefinition,
  withStartPosition,
  type PlanningOptions,
  type ProcessorDefinition,
  type StartOptions,
} from "./processor-definition.ts";
import type { ProcessorLauncher, ProcessorRun } from "./processor-launcher.ts";
import { processorKey, ProcessorRegistry, type ProcessorRecord } from "./processor-registry.ts";
import type { Redactor } from "./redactor.ts";
import type { StateStore } from "./state-store.ts";
import { ProcessorObservations } from "./processor-observations.ts";
import type { StatsSnapshot } from "./stats-history.ts";
import { EMPTY_STATS, statsReply, type StatsRequest } from "./stats-view.ts";
import type { WorkspaceRegistry } from "./workspace-registry.ts";

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

/** A processor as the API shows it. */
export interface ProcessorView {
  readonly id: string;
  readonly name: string;
  readonly workspace: string;
  readonly pipeline: readonly unknown[];
  readonly options: Doc;
  readonly state: ProcessorState;
  readonly createdAt: string;
  readonly lastModified: string;
  readonly lastStateChange: string;
  readonly errorMsg?: string;
  readonly status?: SupervisorStatus;
  /** An `sp.process()` processor (no sink needed; dropped when its client is done). */
  readonly ephemeral?: true;
}

export interface ModifyRequest {
  readonly name?: string;
  readonly pipeline?: readonly unknown[];
  readonly options?: Doc;
  readonly resumeFromCheckpoint?: boolean;
}

/** One processor's figures for `/metrics`. */
export interface ProcessorMetrics {
  readonly workspace: string;
  readonly name: string;
  readonly state: ProcessorState;
  /** Verbose stats at scale 1: live while running, else the last kept. */
  readonly stats: Doc | undefined;
  readonly restarts: number;
}

interface Active {
  readonly run: ProcessorRun;
  readonly id: string;
  readonly connections: ReadonlySet<string>;
  stopping: boolean;
}

/** A processor's plan and the catalog its connectors open with, built once per start. */
interface Prepared {
  readonly plan: ProcessorPlan;
  readonly catalog: ConnectionCatalog;
}

export class ProcessorManager {
  private readonly options: ProcessorManagerOptions;
  private readonly registry: ProcessorRegistry;
  private readonly observations: ProcessorObservations;
  private readonly queue = new KeyedQueue();
  private readonly active = new Map<string, Active>();
  private closing = false;
  private readonly placement: LeasePlacement | undefined;
  /** A start request served here, with its plan, used when this instance takes the lease. */
  private readonly pendingStarts = new Map<string, { options: StartOptions; prepared: Prepared }>();

  constructor(options: ProcessorManagerOptions) {
    this.options = options;
    this.registry = new ProcessorRegistry(options.store);
    this.observations = new ProcessorObservations(options.store, options.redactor, options.logger);
    if (options.leases) {
      this.placement = new LeasePlacement({
        ...options.leases,
        logger: options.logger,
        wanted: async () =>
          (await this.registry.list())
            .filter((r) => r.state === "STARTED")
            .map((r) => ({ id: r.id, key: processorKey(r.workspace, r.name) })),
        runHere: (processor, keeper) =>
          this.queue.run(processor.key, () => this.runLeased(processor, keeper)),
        haltHere: async (processor) => {
          await this.queue.run(processor.key, () => this.halt(processor.key));
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
    if (this.placement) {
      this.placement.start();
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
      if (this.placement) return this.startLeased(record, options);
      try {
        await this.launch(record, options);
      } catch (error) {
        if (error instanceof ControlError) throw error;
        const failed = await this.fail(record, error);
        throw new ControlError(
          "start-failed",
          "PROCESSOR_START_FAILED",
          `processor '${name}' could not start: ${failed.errorMsg}; it is FAILED now — ` +
            "fix the cause (connection, credentials, source position) and start it again",
        );
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
      const newName = change.name ?? record.name;
      const nameIssue = nameProblem(newName, "name", "processor");
      if (nameIssue) throw invalid("INVALID_BODY", `name: ${nameIssue.message}`, [nameIssue]);
      const definition: ProcessorDefinition = {
        name: newName,
        pipeline: change.pipeline ?? record.pipeline,
        options: { ...record.options, ...(change.options ?? {}) },
      };
      const catalog = await this.options.connections.catalog(workspace);
      planDefinition(
        definition,
        catalog,
        { name: newName, pipeline: definition.pipeline, options: definition.options },
        { ephemeral: record.ephemeral },
      );
      const resume = change.resumeFromCheckpoint ?? true;
      if (resume) {
        const reason = modifyRefusalReason(
          record.pipeline,
          definition.pipeline,
          keepsNoPosition(record, catalog),
        );
        if (reason) {
          throw invalid(
            "MODIFY_NEEDS_RESET",
            `${reason}; send "resumeFromCheckpoint": false to apply this change and start afresh ` +
              "(the checkpoint and window state are discarded; summary stats are kept)",
            [{ path: "pipeline", message: reason }],
          );
        }
      }
      if (newName !== record.name && (await this.registry.find(workspace, newName))) {
        throw this.duplicate(workspace, newName);
      }
      if (!resume) await this.clearCheckpoints(record.id);
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

  async drop(workspace: string, name: string): Promise<void> {
    await this.serial(workspace, name, async () => {
      const record = await this.require(workspace, name);
      await this.halt(processorKey(workspace, name));
      await this.unplace(record.id);
      await this.registry.delete(workspace, name);
      await this.clearCheckpoints(record.id);
      await this.observations.forget(record.id);
      this.options.logger.info("processor dropped", { workspace, processor: name });
    });
  }

  /** Drops every processor of a workspace (none may be STARTED). */
  async dropAll(workspace: string): Promise<void> {
    const running = this.runningIn(workspace);
    if (running.length > 0) {
      throw conflict(
        "WORKSPACE_IN_USE",
        `workspace '${workspace}' has started processors (${running.join(", ")}); stop them first`,
      );
    }
    for (const record of await this.registry.list(workspace)) await this.drop(workspace, record.name);
  }

  async stats(workspace: string, name: string, request: StatsRequest): Promise<Doc> {
    const record = await this.require(workspace, name);
    const active = this.active.get(processorKey(workspace, name));
    const identity = {
      name: record.name,
      processorId: record.id,
      status: statsStatus(record.state, active?.run.status().state),
    };
    const stats = active
      ? statsReply(toDoc(active.run.stats(request)), identity, request, true)
      : statsReply((await this.observations.history.get(record.id)).last ?? EMPTY_STATS, identity, request);
    return { ok: 1, ns: `${workspace}.${name}`, stats, pipeline: record.pipeline };
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
    const tap = this.observations.tap(record.id);
    if (!tap) return [];
    const running = this.active.has(processorKey(workspace, name));
    return tap.take(limit, running ? timeoutMs : 0, signal);
  }

  /**
   * A sample cursor's next page: up to `limit` outputs after `position` (from `samplePosition`), waiting up to
   * `timeoutMs` for new ones while the processor runs. `running` is false once its run ended (a finite source
   * drained, or it stopped): then nothing more will come.
   */
  async sampleAfter(
    workspace: string,
    name: string,
    position: number,
    limit: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ messages: Doc[]; position: number; running: boolean }> {
    const record = await this.require(workspace, name);
    const tap = this.observations.tap(record.id);
    const running = this.active.has(processorKey(workspace, name));
    if (!tap) return { messages: [], position, running };
    // A position past the tap's end belongs to an earlier run: read the new run from its start.
    const from = position > tap.position ? 0 : position;
    const page = await tap.after(from, limit, running ? timeoutMs : 0, signal);
    return {
      messages: page.docs,
      position: page.position,
      running: this.active.has(processorKey(workspace, name)) || page.position < tap.position,
    };
  }

  /** Where a sample cursor opened now starts: after the outputs produced so far. */
  async samplePosition(workspace: string, name: string): Promise<number> {
    const record = await this.require(workspace, name);
    return this.observations.tap(record.id)?.position ?? 0;
  }

  /** Names of the STARTED processors of a workspace using connection `connection`. */
  runningUsing(workspace: string, connection: string): string[] {
    return [...this.active.entries()]
      .filter(([key, a]) => key.startsWith(`${workspace}/`) && a.connections.has(connection))
      .map(([key]) => key.slice(workspace.length + 1));
  }

  runningIn(workspace: string): string[] {
    return [...this.active.keys()]
      .filter((k) => k.startsWith(`${workspace}/`))
      .map((k) => k.slice(workspace.length + 1));
  }

  /** Processor counts per workspace (for the workspace list). */
  async counts(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const record of await this.registry.list())
      counts.set(record.workspace, (counts.get(record.workspace) ?? 0) + 1);
    return counts;
  }

  async metrics(): Promise<ProcessorMetrics[]> {
    const out: ProcessorMetrics[] = [];
    for (const record of await this.registry.list()) {
      const active = this.active.get(processorKey(record.workspace, record.name));
      const stats = active
        ? toDoc(active.run.stats({ verbose: true }))
        : (await this.observations.history.get(record.id)).last;
      const status = active?.run.status() ?? this.observations.status(record.id);
      out.push({
        workspace: record.workspace,
        name: record.name,
        state: record.state,
        stats,
        restarts: status?.restarts ?? 0,
      });
    }
    return out;
  }

  /**
   * Stops every running processor with a final checkpoint but leaves them STARTED in the store, so the next
   * server start brings them back.
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    this.observations.stopRecording();
    await Promise.all(
      [...this.active.keys()].map((key) =>
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
    await this.placement?.close();
  }

  /** Resolves connections, plans (unless `prepared` carries the plan) and starts a run; registers it as active. Throws on any failure. */
  private async launch(
    record: ProcessorRecord,
    options: StartOptions,
    fence?: LeaseKeeper,
    prepared?: Prepared,
  ): Promise<void> {
    const { plan, catalog } = prepared ?? (await this.prepare(record, options));
    const stored = await createCheckpoints(plan, catalog, (slot) => this.checkpointSlot(record.id, slot));
    const checkpoints: CheckpointStore = fence ? new FencedCheckpoints(stored, fence) : stored;
    const tap = this.observations.openTap(record.id);
    const run = await this.options.launch({
      plan,
      catalog,
      checkpoints,
      onOutput: (docs) => tap.push(docs),
      onStatus: (status) => this.observations.setStatus(record.id, status),
    });
    await run.start();
    const key = processorKey(record.workspace, record.name);
    const active: Active = { run, id: record.id, connections: connectionsOfPlan(plan), stopping: false };
    this.active.set(key, active);
    void run.done().then(
      () => this.finished(key, active),
      (error: unknown) => this.crashed(key, active, error),
    );
  }

  /**
   * With leases: checks that the processor can start (variables, connections, pipeline), marks it STARTED
   * and competes for its lease; whichever instance takes the lease runs it.
   */
  private async startLeased(record: ProcessorRecord, options: StartOptions): Promise<ProcessorView> {
    // prepare() also discards the checkpoint for resumeFromCheckpoint: false, so the run must not again.
    const prepared = await this.prepare(record, options);
    this.pendingStarts.set(record.id, { options: { ...options, resumeFromCheckpoint: true }, prepared });
    const started = await this.setState(record, "STARTED");
    this.placement?.want({ id: record.id, key: processorKey(record.workspace, record.name) });
    this.options.logger.info("processor started", { workspace: record.workspace, processor: record.name });
    return this.view(started);
  }

  /** Stops competing for a processor's lease (stop, drop); a start request's options are no longer pending. */
  private async unplace(id: string): Promise<void> {
    this.pendingStarts.delete(id);
    await this.placement?.unwant(id);
  }

  /** This instance took a processor's lease: run it here, its checkpoints fenced by the lease. */
  private async runLeased(processor: PlacedProcessor, keeper: LeaseKeeper): Promise<void> {
    const record = await this.registry.find(...splitKey(processor.key));
    if (!record || record.id !== processor.id || record.state !== "STARTED") return;
    if (this.active.has(processor.key) || this.closing) return;
    const pending = this.pendingStarts.get(record.id);
    this.pendingStarts.delete(record.id);
    try {
      await this.launch(record, pending?.options ?? {}, keeper, pending?.prepared);
    } catch (error) {
      await this.fail(record, error);
      throw error;
    }
  }

  /** The plan and resolved catalog of a stored processor; throws on a missing variable or a bad definition. */
  private async prepare(record: ProcessorRecord, options: StartOptions): Promise<Prepared> {
    const { workspace, name } = record;
    const env = this.options.env ?? process.env;
    const { access } = this.options;
    const variables = await loadWorkspaceVariables(this.options.envDir, env, access?.env);
    const withheld = (variable: string): boolean =>
      env[variable] !== undefined && !envAllowed(variable, access?.env);
    const resolved = this.resolveDefinition(record, variables, withheld);
    // Planning needs connection names and types only; settings (with their `{{VAR}}`s) are read when the
    // connectors open, so only the connections the plan uses are resolved, and the plan is built once.
    const unresolved = await this.options.connections.catalog(workspace);
    const pipeline = withStartPosition(resolved.pipeline, options, unresolved);
    const definition = { name, pipeline, options: resolved.options };
    const plan = planDefinition(definition, unresolved, definition, { ephemeral: record.ephemeral });
    const used = connectionsOfPlan(plan);
    const catalog = await this.options.connections.resolvedCatalog(workspace, variables, used, withheld);
    if (access) await checkCatalogFileAccess(catalog, used, access.files, workspace);
    if (options.resumeFromCheckpoint === false) await this.clearCheckpoints(record.id);
    return { plan, catalog };
  }

  /** The stored pipeline and options with `{{VAR}}` filled in (values registered for redaction). */
  private resolveDefinition(
    record: ProcessorRecord,
    variables: Readonly<Record<string, string>>,
    withheld: (variable: string) => boolean,
  ): { pipeline: readonly unknown[]; options: Doc } {
    const file = `processor '${record.name}' in workspace '${record.workspace}'`;
    try {
      return resolvePlaceholders({ pipeline: record.pipeline, options: record.options }, variables, {
        file,
        redactor: this.options.redactor,
        withheld,
      });
    } catch (error) {
      if (!(error instanceof MissingVariableError)) throw error;
      throw invalid("MISSING_VARIABLE", error.message, [
        { path: error.path, message: error.message, expected: `${error.variable} to be set` },
      ]);
    }
  }

  /** Stops the active run of `key` (if any) and keeps its final stats. */
  private async halt(key: string): Promise<ProcessorStats | undefined> {
    const active = this.active.get(key);
    if (!active) return undefined;
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
  private finished(key: string, active: Active): void {
    if (active.stopping) return;
    void this.queue
      .run(key, async () => {
        if (this.active.get(key) !== active) return;
        this.active.delete(key);
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
  private crashed(key: string, active: Active, error: unknown): void {
    if (active.stopping) return;
    void this.queue
      .run(key, async () => {
        if (this.active.get(key) !== active) return;
        this.active.delete(key);
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
    throw notFound(
      "PROCESSOR_NOT_FOUND",
      `no processor named '${name}' in workspace '${workspace}'; list them with GET /api/v1/workspaces/${workspace}/processors`,
    );
  }

  private serial<T>(workspace: string, name: string, operation: () => Promise<T>): Promise<T> {
    if (this.closing) {
      return Promise.reject(conflict("SHUTTING_DOWN", "the server is shutting down; retry once it is back"));
    }
    return this.queue.run(processorKey(workspace, name), operation);
  }

  private checkpointSlot(id: string, slot: 0 | 1): StateStoreCheckpoints {
    return new StateStoreCheckpoints(this.options.store, slotKey(id, slot));
  }

  /** Forgets both slots: slot 1 exists only for exactly-once sinks, clearing it otherwise is harmless. */
  private async clearCheckpoints(id: string): Promise<void> {
    await Promise.all([this.checkpointSlot(id, 0).clear(), this.checkpointSlot(id, 1).clear()]);
  }

  private duplicate(workspace: string, name: string): ControlError {
    return conflict(
      "PROCESSOR_ALREADY_EXISTS",
      `a processor named '${name}' already exists in workspace '${workspace}'; drop it first or pick another name`,
    );
  }

  private view(record: ProcessorRecord): ProcessorView {
    const active = this.active.get(processorKey(record.workspace, record.name));
    const status =
      active?.run.status() ?? (record.state === "FAILED" ? this.observations.status(record.id) : undefined);
    return {
      id: record.id,
      name: record.name,
      workspace: record.workspace,
      pipeline: record.pipeline,
      options: record.options,
      state: record.state,
      createdAt: record.createdAt.toISOString(),
      lastModified: record.lastModified.toISOString(),
      lastStateChange: record.lastStateChange.toISOString(),
      ...(record.errorMsg !== undefined ? { errorMsg: this.options.redactor.redact(record.errorMsg) } : {}),
      ...(status ? { status } : {}),
      ...(record.ephemeral ? { ephemeral: true } : {}),
    };
  }

  private message(error: unknown): string {
    return this.options.redactor.redactError(error);
  }
}

/** A sample or inline-documents `$source` has no position to resume from. */
function keepsNoPosition(
  record: ProcessorRecord,
  catalog: { get(name: string): { type: string } | undefined },
): boolean {
  const first = record.pipeline[0] as Doc | undefined;
  const source = first?.$source as Doc | undefined;
  if (!source) return false;
  if (source.documents !== undefined) return true;
  return typeof source.connectionName === "string" && catalog.get(source.connectionName)?.type === "Sample";
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf("/");
  return [key.slice(0, slash), key.slice(slash + 1)];
}

function toDoc(stats: ProcessorStats): Doc {
  return { ...stats };
}

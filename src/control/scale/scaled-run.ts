/**
 * One task of a processor with `options.parallelism` above 1 (docs/scale-out.md), as the manager drives a
 * run. With a window the task has two halves:
 *  - the reader: the source's consumer group member running the stages before the window, writing each
 *    record to `eddy-<processor>-repartition` in the partition of its group key (offsets committed to the
 *    group after each flush; a replay writes some records again, which the other half drops);
 *  - the windows: a {@link PartitionTask} over the repartition topic, one runtime per partition.
 * Without a window the reader runs the whole pipeline into the sink.
 */
import { Readable } from "node:stream";
import { ConnectorClients } from "../../connectors/clients.ts";
import { connectorStages, createDlqWriter, createSink, createSource } from "../../connectors/factory.ts";
import { PartitionFeed } from "../../connectors/kafka/partition-feed.ts";
import {
  ensureRepartitionTopic,
  RepartitionSink,
  repartitionTopic,
} from "../../connectors/kafka/repartition.ts";
import type { KafkaSourceOptions } from "../../connectors/kafka/spec.ts";
import type { Doc } from "../../mql/index.ts";
import type { ConnectionCatalog, ProcessorPlan } from "../../pipeline/plan.ts";
import { MemoryCheckpointStore, type CheckpointStore } from "../../runtime/checkpoint.ts";
import type { ProcessorStats } from "../../runtime/index.ts";
import type { Logger } from "../../runtime/log.ts";
import { ProcessorRuntime } from "../../runtime/runtime.ts";
import type { SupervisorStatus } from "../../runtime/supervisor.ts";
import type { LeaseSettings } from "../lease-placement.ts";
import type { ProcessorRun } from "../processor-launcher.ts";
import { PartitionTask } from "./partition-task.ts";
import { combineTaskStats } from "./task-stats.ts";
import { splitForRepartition } from "./split-plan.ts";

export interface ScaledRunOptions {
  readonly plan: ProcessorPlan;
  readonly catalog: ConnectionCatalog;
  /** Which of the processor's tasks this is (0…parallelism−1). */
  readonly task: number;
  /** This instance's id (shown in stats). */
  readonly instance: string;
  readonly partitionCheckpoints: (partition: number) => CheckpointStore;
  readonly leases?: LeaseSettings & { readonly prefix: string };
  readonly checkpointIntervalMs?: number;
  readonly logger: Logger;
  readonly onOutput: (docs: readonly Doc[]) => void;
  readonly onDeadLetters?: (records: readonly Doc[]) => void;
  readonly onStatus: (status: SupervisorStatus) => void;
}

export class ScaledRun implements ProcessorRun {
  private readonly options: ScaledRunOptions;
  private clients: ConnectorClients | undefined;
  private reader: ProcessorRuntime | undefined;
  private windows: PartitionTask | undefined;
  private state: SupervisorStatus = { state: "running", restarts: 0 };
  private finish!: { resolve: (stats: ProcessorStats) => void; reject: (error: unknown) => void };
  private readonly ended: Promise<ProcessorStats>;
  private stopping: Promise<ProcessorStats> | undefined;
  private readerDone: Promise<unknown> = Promise.resolve();

  constructor(options: ScaledRunOptions) {
    this.options = options;
    this.ended = new Promise((resolve, reject) => (this.finish = { resolve, reject }));
    this.ended.catch(() => undefined);
  }

  async start(): Promise<void> {
    const { plan, catalog, logger } = this.options;
    const clients = new ConnectorClients(catalog);
    this.clients = clients;
    try {
      const split = splitForRepartition(plan);
      const dlq = await createDlqWriter(plan, catalog, clients);
      const connectorStage = await connectorStages(plan, catalog, clients);
      const connection = plan.source.connectionName ?? "";
      const client = clients.kafka(connection, `eddy-${plan.name}-task-${this.options.task}`);
      let readerSink;
      if (split.windows) {
        const sourceTopics = (plan.source.options as KafkaSourceOptions).topics;
        const topic = repartitionTopic(plan.name);
        const { partitions, sourcePartitions } = await ensureRepartitionTopic(client, sourceTopics, topic);
        readerSink = new RepartitionSink(client, {
          topic,
          partitions,
          key: split.key,
          tsFieldName: plan.source.tsFieldName,
        });
        const sink = await createSink(plan, catalog, process.stdout, clients);
        this.windows = new PartitionTask({
          plan: split.windows,
          topic,
          sourcePartitions,
          feed: (onAssignment) =>
            new PartitionFeed(client, {
              topic,
              groupId: `eddy-${plan.name}-repartition-consumer`,
              tuning: clients.kafkaConsumerTuning(connection),
              onAssignment,
            }),
          sink,
          ...(dlq ? { dlq } : {}),
          connectorStage,
          checkpoints: this.options.partitionCheckpoints,
          ...(this.options.leases ? { leases: this.options.leases } : {}),
          ...(this.options.checkpointIntervalMs !== undefined
            ? { checkpointIntervalMs: this.options.checkpointIntervalMs }
            : {}),
          logger,
          onOutput: this.options.onOutput,
          ...(this.options.onDeadLetters ? { onDeadLetters: this.options.onDeadLetters } : {}),
          onFailure: (error) => this.fail(error),
        });
        await this.windows.start();
      } else {
        readerSink = await createSink(plan, catalog, process.stdout, clients);
      }
      const source = await createSource(split.reader, catalog, Readable.from([]), clients, {
        groupId: `asp-${plan.name}-consumer`,
      });
      this.reader = new ProcessorRuntime(split.reader, {
        source,
        sink: readerSink,
        ...(dlq ? { dlq } : {}),
        connectorStage,
        // Offsets live in the consumer group (committed after each flush); the memory store only drives that.
        checkpoints: new MemoryCheckpointStore(),
        checkpointIntervalMs: Math.min(1_000, this.options.checkpointIntervalMs ?? 1_000),
        ...(split.windows ? {} : { onOutput: this.options.onOutput }),
        ...(this.options.onDeadLetters ? { onDeadLetters: this.options.onDeadLetters } : {}),
      });
      const sink = readerSink;
      this.readerDone = this.reader
        .run()
        .then(
          () => undefined,
          (error: unknown) => this.fail(error),
        )
        .finally(() => sink.close());
      this.setStatus({ state: "running", restarts: 0 });
    } catch (error) {
      await this.shutDown();
      throw error;
    }
  }

  private fail(error: unknown): void {
    if (this.stopping) return;
    const message = error instanceof Error ? error.message : String(error);
    this.options.logger.error("scaled task failed", { processor: this.options.plan.name, error: message });
    this.setStatus({ state: "failed", restarts: 0, error: { message, retryable: false, at: Date.now() } });
    this.stopping = this.shutDown();
    void this.stopping.then(() => this.finish.reject(error));
  }

  private setStatus(status: SupervisorStatus): void {
    this.state = status;
    this.options.onStatus(status);
  }

  private async shutDown(): Promise<ProcessorStats> {
    this.reader?.stop();
    await this.readerDone;
    await this.windows?.stop().catch(() => undefined);
    await this.clients?.close().catch(() => undefined);
    return this.stats({ verbose: true });
  }

  async stop(): Promise<ProcessorStats> {
    this.stopping ??= this.shutDown().then((stats) => {
      this.setStatus({ state: "stopped", restarts: 0 });
      this.finish.resolve(stats);
      return stats;
    });
    return this.stopping;
  }

  done(): Promise<ProcessorStats> {
    return this.ended;
  }

  status(): SupervisorStatus {
    return this.state;
  }

  stats(options: { verbose?: boolean; scale?: number } = {}): ProcessorStats {
    const reader = this.reader?.stats(options);
    return combineTaskStats(reader, this.windows?.stats(), {
      task: this.options.task,
      instance: this.options.instance,
      partitions: this.windows?.running() ?? [],
    });
  }
}

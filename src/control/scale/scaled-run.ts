/**
 * One task of a processor with `options.parallelism` above 1 (docs/scale-out.md), as the manager drives a
 * run. With a window the task has two halves:
 *  - the reader: the source's consumer group member running the stages before the window, writing each
 *    record to `eddy-<processor>-repartition` in the partition of its group key (offsets committed to the
 *    group after each flush; a replay writes some records again, which the other half drops);
 *  - the partitions: a {@link PartitionTask} over the repartition topic, one runtime per partition
 *    running the window onwards, each with its own checkpoint.
 * Without a window there is no reader: the partitions are the source topic's, each running the pipeline.
 */
import { ConnectorClients } from "../../connectors/clients.ts";
import { connectorStages, createCheckpoints, createDlqWriter, createSink } from "../../connectors/factory.ts";
import type { KafkaClientOptions } from "../../connectors/kafka/connection.ts";
import { exactlyOnceSettings, withTransactionalId } from "../../connectors/kafka/emit-sink.ts";
import {
  PartitionFeed,
  RepartitionDecoder,
  SourceTopicDecoder,
  type FeedDecoder,
} from "../../connectors/kafka/partition-feed.ts";
import { KafkaRecordDecoder } from "../../connectors/kafka/record.ts";
import { KafkaSource, type KafkaSourcePlan } from "../../connectors/kafka/source.ts";
import {
  ensureRepartitionTopic,
  RepartitionSink,
  repartitionTopic,
} from "../../connectors/kafka/repartition.ts";
import type { KafkaSourceOptions } from "../../connectors/kafka/spec.ts";
import type { Doc } from "../../mql/index.ts";
import type { ConnectionCatalog, ProcessorPlan } from "../../pipeline/plan.ts";
import { MemoryCheckpointStore, type Checkpoint, type CheckpointStore } from "../../runtime/checkpoint.ts";
import type { ProcessorStats } from "../../runtime/index.ts";
import type { Logger } from "../../runtime/log.ts";
import type { DlqWriter } from "../../runtime/dlq.ts";
import { ProcessorRuntime, type RuntimeOptions } from "../../runtime/runtime.ts";
import type { Sink } from "../../runtime/sink.ts";
import type { Source } from "../../runtime/source.ts";
import type { SupervisorStatus } from "../../runtime/supervisor.ts";
import type { LeaseSettings } from "../lease-placement.ts";
import type { ProcessorRun } from "../processor-launcher.ts";
import { PartitionTask, type PartitionParts } from "./partition-task.ts";
import { partitionCountsOf, type TaskCounts } from "./processor-counts.ts";
import { CountedSource, SourceCounter } from "./source-counts.ts";
import { TASK_REPORT_INTERVAL_MS, type TaskReport } from "./task-board.ts";
import { combineTaskStats, type TaskStats } from "./task-stats.ts";
import { splitForRepartition } from "./split-plan.ts";

/** What a task's partitions read and run (see `layout`). */
interface TaskLayout {
  /** What each partition runs: the window onwards, or the whole pipeline. */
  readonly plan: ProcessorPlan;
  readonly topic: string;
  readonly groupId: string;
  readonly connection: string;
  readonly client: KafkaClientOptions;
  readonly fallback: "earliest" | "latest";
  decoder(partition: number, saved: Doc | undefined): FeedDecoder;
  /**
   * With a window: the plan before it, the repartition sink it writes and whether its source keeps the
   * messages the sink forwards.
   */
  readonly reader:
    { readonly plan: ProcessorPlan; readonly sink: Sink; readonly keepsMessages: boolean } | undefined;
}

const EARLIEST = new Set(["earliest", "beginning", "smallest"]);

export interface ScaledRunOptions {
  readonly plan: ProcessorPlan;
  readonly catalog: ConnectionCatalog;
  /** Which of the processor's tasks this is (0…parallelism−1). */
  readonly task: number;
  /** This instance's id (shown in stats). */
  readonly instance: string;
  /**
   * Where each partition's checkpoints go (slot 1 only for an exactly-once `$emit`), fenced by `fence`, the
   * partition lease's token, when leases are on.
   */
  readonly partitionCheckpoints: (partition: number, slot: 0 | 1, fence?: number) => CheckpointStore;
  readonly leases?: LeaseSettings & { readonly prefix: string };
  readonly checkpointIntervalMs?: number;
  readonly logger: Logger;
  readonly onOutput: (docs: readonly Doc[]) => void;
  readonly onDeadLetters?: (records: readonly Doc[]) => void;
  readonly onStatus: (status: SupervisorStatus) => void;
  /** Called every TASK_REPORT_INTERVAL_MS with the task's figures (every instance's stats show them). */
  readonly report: (report: TaskReport) => Promise<void>;
  /** Called once the task stopped. */
  readonly retire: () => Promise<void>;
  /** Where the task keeps its partitions' cumulative counts for the processor's totals (every report). */
  readonly counts: TaskCounts;
}

export class ScaledRun implements ProcessorRun {
  private readonly options: ScaledRunOptions;
  private clients: ConnectorClients | undefined;
  private reader: ProcessorRuntime | undefined;
  private sink: Sink | undefined;
  private reporting: NodeJS.Timeout | undefined;
  private readerSource: Source | undefined;
  private readonly sourceCounter: SourceCounter;
  private repartitioned = false;
  private keeping: Promise<void> = Promise.resolve();
  /** The reader's dead letters that name no source partition it counts (kept per source partition else). */
  private readonly unattributedDlq = { count: 0, size: 0 };
  private windows: PartitionTask | undefined;
  private state: SupervisorStatus = { state: "running", restarts: 0 };
  private finish!: { resolve: (stats: ProcessorStats) => void; reject: (error: unknown) => void };
  private readonly ended: Promise<ProcessorStats>;
  private stopping: Promise<ProcessorStats> | undefined;
  private readerDone: Promise<unknown> = Promise.resolve();

  constructor(options: ScaledRunOptions) {
    this.options = options;
    this.sourceCounter = new SourceCounter((key) => options.counts.source(key));
    this.ended = new Promise((resolve, reject) => (this.finish = { resolve, reject }));
    this.ended.catch(() => undefined);
  }

  async start(): Promise<void> {
    const { catalog } = this.options;
    const clients = new ConnectorClients(catalog);
    this.clients = clients;
    try {
      const dlq = await createDlqWriter(this.options.plan, catalog, clients);
      const connectorStage = await connectorStages(this.options.plan, catalog, clients);
      const layout = await this.layout(clients);
      this.repartitioned = layout.reader !== undefined;
      const sink = await createSink(layout.plan, catalog, process.stdout, clients);
      this.sink = sink;
      this.windows = new PartitionTask({
        plan: layout.plan,
        topic: layout.topic,
        repartitioned: layout.reader !== undefined,
        feed: (onAssignment) =>
          new PartitionFeed(layout.client, {
            topic: layout.topic,
            groupId: layout.groupId,
            tuning: clients.kafkaConsumerTuning(layout.connection),
            fallback: layout.fallback,
            onAssignment,
          }),
        openPartition: (partition, fence) => this.openPartition(partition, fence, layout, sink, clients),
        ...(dlq ? { dlq } : {}),
        connectorStage,
        ...(this.options.leases ? { leases: this.options.leases } : {}),
        ...(this.options.checkpointIntervalMs !== undefined
          ? { checkpointIntervalMs: this.options.checkpointIntervalMs }
          : {}),
        logger: this.options.logger,
        onOutput: this.options.onOutput,
        ...(this.options.onDeadLetters ? { onDeadLetters: this.options.onDeadLetters } : {}),
        onFailure: (error) => this.fail(error),
      });
      await this.windows.start();
      if (layout.reader) await this.startReader(layout.reader, dlq, connectorStage, clients);
      this.setStatus({ state: "running", restarts: 0 });
      this.reporting = setInterval(() => void this.sendReport(), TASK_REPORT_INTERVAL_MS);
      this.reporting.unref();
      void this.sendReport();
    } catch (error) {
      await this.shutDown();
      throw error;
    }
  }

  /**
   * What the partitions read. With a window: the repartition topic (created here when missing), which the
   * reader fills. Without: the source topic itself, in the source's consumer group.
   */
  private async layout(clients: ConnectorClients): Promise<TaskLayout> {
    const { plan } = this.options;
    const connection = plan.source.connectionName ?? "";
    const client = clients.kafka(connection, `eddy-${plan.name}-task-${this.options.task}`);
    const source = plan.source.options as KafkaSourceOptions;
    const split = splitForRepartition(plan);
    if (split.windows) {
      const topic = repartitionTopic(plan.name);
      const { partitions, sourcePartitions } = await ensureRepartitionTopic(client, source.topics, topic);
      return {
        plan: split.windows,
        topic,
        groupId: `eddy-${plan.name}-repartition-consumer`,
        connection,
        client,
        fallback: "earliest",
        decoder: (partition, saved) =>
          new RepartitionDecoder(
            sourcePartitions,
            `${topic}:${partition}`,
            saved,
            new KafkaRecordDecoder(source),
          ),
        reader: {
          plan: split.reader,
          sink: new RepartitionSink(client, {
            topic,
            partitions,
            key: split.key,
            tsFieldName: plan.source.tsFieldName,
            forwardsSourceMessages: split.forwardsSourceMessages === true,
          }),
          keepsMessages: split.forwardsSourceMessages === true,
        },
      };
    }
    if (source.topics.length !== 1)
      throw new Error(
        "a scaled-out processor without a window reads one topic (its partitions are the tasks')",
      );
    const topic = source.topics[0];
    return {
      plan,
      topic,
      groupId: source.config.group_id ?? `asp-${plan.name}-consumer`,
      connection,
      client,
      fallback: EARLIEST.has(source.config.auto_offset_reset) ? "earliest" : "latest",
      decoder: (partition) => new SourceTopicDecoder(new KafkaRecordDecoder(source), `${topic}:${partition}`),
      reader: undefined,
    };
  }

  /**
   * A partition's parts: the task's sink and slot-0 checkpoint, or, for an exactly-once `$emit`, a sink of its
   * own with transactional id `<id>-p<partition>` and the two-slot checkpoints that go with it.
   */
  private async openPartition(
    partition: number,
    fence: number | undefined,
    layout: TaskLayout,
    shared: Sink,
    clients: ConnectorClients,
  ): Promise<PartitionParts> {
    const { catalog, partitionCheckpoints } = this.options;
    const decoder = (saved: Doc | undefined) => layout.decoder(partition, saved);
    const exactly = layout.plan.sink ? exactlyOnceSettings(layout.plan.name, layout.plan.sink) : undefined;
    if (!exactly)
      return {
        sink: shared,
        checkpoints: partitionCheckpoints(partition, 0, fence),
        decoder,
        close: async () => {},
      };
    const own = withTransactionalId(layout.plan, `${exactly.transactionalId}-p${partition}`);
    const sink = await createSink(own, catalog, process.stdout, clients);
    const checkpoints = await createCheckpoints(own, catalog, (slot) =>
      partitionCheckpoints(partition, slot, fence),
    );
    return { sink, checkpoints, decoder, close: () => sink.close() };
  }

  /** The reader: the source's group member running the stages before the window into the repartition topic. */
  private async startReader(
    reader: NonNullable<TaskLayout["reader"]>,
    dlq: DlqWriter | undefined,
    connectorStage: RuntimeOptions["connectorStage"],
    clients: ConnectorClients,
  ): Promise<void> {
    const { plan } = this.options;
    const connection = plan.source.connectionName ?? "";
    const source = new KafkaSource(
      clients.kafka(connection, `eddy-${plan.name}`),
      reader.plan.source as KafkaSourcePlan,
      {
        groupId: `asp-${plan.name}-consumer`,
        tuning: clients.kafkaConsumerTuning(connection),
        keepsMessages: reader.keepsMessages,
        incrementalRebalance: true,
      },
    );
    this.readerSource = source;
    this.reader = new ProcessorRuntime(reader.plan, {
      source: new CountedSource(source, this.sourceCounter),
      sink: reader.sink,
      ...(dlq ? { dlq } : {}),
      connectorStage,
      // Its positions live in the consumer group (committed after each flush); the memory store drives that.
      // Every checkpoint interval, as the partitions': each flush waits for the repartition writes in flight.
      // Before the offsets are committed, the counts of what was read are kept: a reader taking a partition
      // over continues from the committed offsets and must find everything before them counted.
      checkpoints: new CountsFirst(new MemoryCheckpointStore(), () =>
        this.keep(() => this.keepSourceCounts()),
      ),
      ...(this.options.checkpointIntervalMs !== undefined
        ? { checkpointIntervalMs: this.options.checkpointIntervalMs }
        : {}),
      onDeadLetters: (records) => {
        const { count, size } = this.sourceCounter.countDeadLetters(records);
        this.unattributedDlq.count += count;
        this.unattributedDlq.size += size;
        this.options.onDeadLetters?.(records);
      },
    });
    this.readerDone = this.reader
      .run()
      .then(
        () => undefined,
        (error: unknown) => this.fail(error),
      )
      .finally(() => reader.sink.close());
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

  private async sendReport(): Promise<void> {
    const stats = this.stats({ verbose: true });
    const task = stats.tasks[0];
    await this.keep(() => this.keepCounts());
    await this.options
      .report({
        ...task,
        sourcePartitions: [...(this.readerSource?.partitions?.() ?? [])].map(String),
        inputMessageCount: stats.inputMessageCount,
        outputMessageCount: stats.outputMessageCount,
        updatedAt: new Date(),
        stateSize: stats.stateSize,
        ...(stats.watermark ? { watermark: stats.watermark } : {}),
        ...(stats.kafkaPartitions ? { kafkaPartitions: stats.kafkaPartitions } : {}),
        readerDlqMessageCount: this.unattributedDlq.count,
        readerDlqMessageSize: this.unattributedDlq.size,
        ...(stats.operatorStats ? { operatorStats: stats.operatorStats } : {}),
        ...(stats.latency ? { latency: stats.latency } : {}),
      })
      .catch(() => undefined);
  }

  /**
   * Runs `what` after the writes of counts before it (one at a time, so an older figure never lands after a
   * newer one); a failed write is retried at the next report.
   */
  private keep(what: () => Promise<void>): Promise<void> {
    this.keeping = this.keeping.then(what).catch(() => undefined);
    return this.keeping;
  }

  /**
   * Keeps the cumulative counts of every partition that ran here, and of every source partition the reader
   * read, in the store (each raised, never lowered: processor-counts.ts).
   */
  private async keepCounts(): Promise<void> {
    const { counts } = this.options;
    for (const [partition, stats] of this.windows?.statsByPartition() ?? [])
      await counts.raisePartition(partition, partitionCountsOf(stats, this.repartitioned));
    await this.keepSourceCounts();
  }

  private async keepSourceCounts(): Promise<void> {
    for (const [key, figure] of this.sourceCounter.figures())
      await this.options.counts.raiseSource(key, figure);
  }

  private async shutDown(): Promise<ProcessorStats> {
    clearInterval(this.reporting);
    this.reader?.stop();
    await this.readerDone;
    await this.windows?.stop().catch(() => undefined);
    // The final counts (the last batches and the final checkpoints) before the task is retired.
    await this.keep(() => this.keepCounts());
    await this.sink?.close().catch(() => undefined);
    await this.clients?.close().catch(() => undefined);
    await this.options.retire().catch(() => undefined);
    // None runs any more: the last figures of the partitions that ran here are the stopped task's.
    return this.combine({ verbose: true }, this.windows?.statsByPartition() ?? []);
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

  stats(
    options: { verbose?: boolean; scale?: number } = {},
  ): ProcessorStats & { readonly tasks: readonly TaskStats[] } {
    return this.combine(options, this.windows?.running(options) ?? []);
  }

  private combine(
    options: { verbose?: boolean; scale?: number },
    partitions: ReadonlyArray<readonly [number, ProcessorStats]>,
  ): ProcessorStats & { readonly tasks: readonly TaskStats[] } {
    return combineTaskStats(this.reader?.stats(options), this.windows?.stats() ?? [], {
      task: this.options.task,
      instance: this.options.instance,
      partitions,
      refusedCheckpoints: this.windows?.refusedCheckpoints() ?? 0,
    });
  }
}

/** A checkpoint store that runs `before` ahead of each save (and so ahead of the offsets' commit). */
class CountsFirst implements CheckpointStore {
  private readonly store: CheckpointStore;
  private readonly before: () => Promise<void>;

  constructor(store: CheckpointStore, before: () => Promise<void>) {
    this.store = store;
    this.before = before;
  }

  load(): Promise<Checkpoint | undefined> {
    return this.store.load();
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    await this.before();
    await this.store.save(checkpoint);
  }

  clear(): Promise<void> {
    return this.store.clear();
  }
}

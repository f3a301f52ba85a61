import type { Doc } from "../mql/index.ts";
import type { ConnectionCatalog, ProcessorPlan } from "../pipeline/plan.ts";
import {
  ConnectorError,
  jsonLogger,
  MemoryCheckpointStore,
  ProcessorSupervisor,
  type CheckpointSlots,
  type DlqWriter,
  type ProcessorParts,
  type ProcessorStats,
  type Sink,
  type SupervisorOptions,
  type SupervisorStatus,
} from "../runtime/index.ts";
import type { CliIo } from "./io.ts";
import { ConnectorClients } from "../connectors/clients.ts";
import {
  connectorStages,
  createCheckpoints,
  createDlqWriter,
  createSink,
  createSource,
} from "../connectors/factory.ts";

/** What `onStart` gets: the running processor (the demo stops it after `--seconds`). */
export interface RunningProcessor {
  stop(): void;
  stats(options?: { verbose?: boolean; scale?: number }): ProcessorStats;
  status(): SupervisorStatus;
}

export interface RunProcessorOptions {
  /** Where dead letters go; default: the plan's `options.dlq` collection. */
  readonly dlq?: DlqWriter;
  readonly sink?: Sink;
  /** Print what the sink would write instead of writing it. */
  readonly dryRun?: boolean;
  readonly onOutput?: (docs: readonly Doc[]) => void;
  readonly onStart?: (processor: RunningProcessor) => void;
  /**
   * Checkpoints to resume from and save to (`--checkpoint-dir`); default: in memory only. Slot 1 is used
   * only by an exactly-once sink (see `createCheckpoints`).
   */
  readonly checkpoints?: CheckpointSlots;
  readonly checkpointIntervalMs?: number;
  /** Stop gracefully once this many documents were written (after the batch that reaches it). */
  readonly limit?: number;
  /** Stop gracefully after this long. */
  readonly timeoutMs?: number;
  readonly retry?: SupervisorOptions["retry"];
}

/**
 * Runs a plan under a ProcessorSupervisor (retries with back-off on lost connections, logged as JSON lines
 * on stderr) until its source drains, Ctrl-C (SIGINT/SIGTERM), `limit` or `timeoutMs` stops it; returns the
 * final stats, or throws when the processor failed.
 */
export async function runProcessor(
  plan: ProcessorPlan,
  catalog: ConnectionCatalog,
  io: CliIo,
  options: RunProcessorOptions,
): Promise<ProcessorStats> {
  let written = 0;
  const supervisor = new ProcessorSupervisor({
    plan,
    open: (positions) => openParts(plan, catalog, io, options, positions),
    checkpoints: await createCheckpoints(
      plan,
      catalog,
      options.checkpoints ?? (() => new MemoryCheckpointStore()),
    ),
    checkpointIntervalMs: options.checkpointIntervalMs,
    retry: options.retry,
    logger: jsonLogger((line) => io.stderr.write(line)),
    onOutput: (docs) => {
      options.onOutput?.(docs);
      written += docs.length;
      if (options.limit !== undefined && written >= options.limit) stop();
    },
  });
  const stop = (): void => void supervisor.stop();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const timer = options.timeoutMs !== undefined ? setTimeout(stop, options.timeoutMs) : undefined;
  try {
    await supervisor.start();
    options.onStart?.({
      stop,
      stats: (statsOptions) => supervisor.stats(statsOptions),
      status: () => supervisor.status(),
    });
    return await supervisor.done();
  } finally {
    clearTimeout(timer);
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    // The caller's own sink and DLQ live across restarts (see openParts), so they are closed here, once.
    await options.sink?.close();
    await options.dlq?.close();
  }
}

/** One run's connectors. Building them only reads the configuration, so a failure here is permanent. */
async function openParts(
  plan: ProcessorPlan,
  catalog: ConnectionCatalog,
  io: CliIo,
  options: RunProcessorOptions,
  positions: Doc | undefined,
): Promise<ProcessorParts> {
  const clients = new ConnectorClients(catalog);
  try {
    return {
      source: await createSource(plan, catalog, io.stdin, clients, { positions }),
      sink: options.sink
        ? keptOpenSink(options.sink)
        : await createSink(plan, catalog, io.stdout, clients, { dryRun: options.dryRun }),
      dlq: options.dlq ? keptOpenDlq(options.dlq) : await createDlqWriter(plan, catalog, clients),
      connectorStage: await connectorStages(plan, catalog, clients),
      close: () => clients.close(),
    };
  } catch (error) {
    await clients.close();
    if (error instanceof ConnectorError) throw error;
    throw new ConnectorError((error as Error).message, { retryable: false, cause: error });
  }
}

/** The caller's sink with a `close` that does nothing, so a restart does not close what the caller owns. */
function keptOpenSink(sink: Sink): Sink {
  return {
    operatorName: sink.operatorName,
    write: (docs, context) => sink.write(docs, context),
    ...(sink.flush ? { flush: () => sink.flush?.() ?? Promise.resolve() } : {}),
    close: async () => {},
  };
}

function keptOpenDlq(dlq: DlqWriter): DlqWriter {
  return { write: (records) => dlq.write(records), close: async () => {} };
}

import type { Doc } from "../mql/index.ts";
import { MemoryCheckpointStore, type CheckpointStore } from "./checkpoint.ts";
import type { DlqWriter } from "./dlq.ts";
import { ConnectorError, isRetryable } from "./errors.ts";
import { silentLogger, type Logger } from "./log.ts";
import { ProcessorRuntime, type RuntimeOptions } from "./runtime.ts";
import type { Sink } from "./sink.ts";
import type { Source } from "./source.ts";
import { StatsCollector, type ProcessorStats } from "./stats.ts";
import type { ProcessorPlan } from "../pipeline/plan.ts";

/** The connectors of one run; built afresh by `SupervisorOptions.open` for every (re)start. */
export interface ProcessorParts {
  readonly source: Source;
  readonly sink: Sink;
  readonly dlq?: DlqWriter;
  readonly connectorStage?: RuntimeOptions["connectorStage"];
  /** Closes clients opened by open() (the supervisor closes the source, sink and DLQ first). */
  close(): Promise<void>;
}

export interface SupervisorOptions {
  readonly plan: ProcessorPlan;
  /** Builds fresh connectors; `positions` = the checkpoint's source positions to start from (undefined: fresh start). */
  open(positions: Doc | undefined): Promise<ProcessorParts>;
  /** Where checkpoints live; none: in memory only (a restart after a failure still resumes from them). */
  readonly checkpoints?: CheckpointStore;
  readonly checkpointIntervalMs?: number;
  /** Back-off after a retryable failure: initial 1 s, doubling to at most 60 s; FAILED after 5 min of failing. */
  readonly retry?: { initialDelayMs?: number; maxDelayMs?: number; giveUpAfterMs?: number };
  /** Sample taps: the documents written by each batch. */
  readonly onOutput?: (docs: readonly Doc[]) => void;
  /** The dead-letter records of each batch. */
  readonly onDeadLetters?: (records: readonly Doc[]) => void;
  readonly onStatus?: (status: SupervisorStatus) => void;
  /** Retries and failures are logged here (default: nowhere; the status carries them too). */
  readonly logger?: Logger;
  /** Window state limit; exceeding it fails the processor at once (not retried). */
  readonly maxStateBytes?: number;
}

export interface SupervisorStatus {
  readonly state: "running" | "retrying" | "stopped" | "failed";
  readonly error?: { readonly message: string; readonly retryable: boolean; readonly at: number };
  /** Restarts after failures so far. */
  readonly restarts: number;
  /** When the next attempt starts (epoch ms), while retrying. */
  readonly nextRetryAt?: number;
}

/**
 * The processor was stopped (a timeout, a limit, Ctrl-C, a stop request) while its runs were failing:
 * what they produced since the last checkpoint was not all written.
 */
export class StoppedWhileFailingError extends Error {
  override readonly name = "StoppedWhileFailingError";
  /** Output documents not written: the most any failed run since the last checkpoint handed to the sink in vain. */
  readonly documentsNotWritten: number;

  constructor(cause: unknown, documentsNotWritten: number) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const count = `${documentsNotWritten} document${documentsNotWritten === 1 ? " was" : "s were"} not written`;
    super(`stopped while the processor was failing (${reason}): ${count}`, { cause });
    this.documentsNotWritten = documentsNotWritten;
  }
}

export const DEFAULT_RETRY = { initialDelayMs: 1_000, maxDelayMs: 60_000, giveUpAfterMs: 5 * 60_000 };

/**
 * Runs one processor and keeps it running: after a retryable failure (a lost connection, an unreachable
 * server) it closes the connectors and starts again from the last checkpoint after an exponential
 * back-off with jitter; after a permanent failure (a non-retryable ConnectorError), or when failures have
 * gone on for `giveUpAfterMs` without a checkpoint in between, the processor is FAILED. Stats continue
 * across restarts because each run restores them from the checkpoint it resumes.
 */
export class ProcessorSupervisor {
  private readonly options: SupervisorOptions;
  private readonly store: CheckpointStore;
  private readonly retry: typeof DEFAULT_RETRY;
  private current: SupervisorStatus = { state: "stopped", restarts: 0 };
  private runtime: ProcessorRuntime | undefined;
  private loop: Promise<ProcessorStats> | undefined;
  private stopping = false;
  /** Ends a back-off wait early (stop). */
  private wake: (() => void) | undefined;
  private firstStart: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  /** The last failure since the last checkpoint, and the most documents a failed run left unwritten. */
  private failing: { error: unknown; unwritten: number } | undefined;

  constructor(options: SupervisorOptions) {
    this.options = options;
    this.store = options.checkpoints ?? new MemoryCheckpointStore();
    this.retry = { ...DEFAULT_RETRY, ...definedOnly(options.retry ?? {}) };
  }

  /**
   * Starts the processor. Resolves once the first run is running, or once it is retrying after a
   * retryable start error (the processor is started and shows the error in its status); rejects when the
   * start failed permanently.
   */
  start(): Promise<void> {
    if (this.loop)
      return Promise.reject(new Error(`processor '${this.options.plan.name}' is already started`));
    const started = new Promise<void>((resolve, reject) => (this.firstStart = { resolve, reject }));
    this.loop = this.runLoop();
    // done() reports the outcome; this only keeps an unobserved failure from being an unhandled rejection.
    this.loop.catch(() => undefined);
    return started;
  }

  /** Graceful stop: the batch in progress finishes, sink and DLQ are flushed, a final checkpoint is saved. */
  async stop(): Promise<ProcessorStats> {
    this.stopping = true;
    this.runtime?.stop();
    this.wake?.();
    if (!this.loop) {
      this.setStatus({ state: "stopped", restarts: this.current.restarts });
      return this.stats({ verbose: true });
    }
    try {
      return await this.loop;
    } catch {
      return this.stats({ verbose: true });
    }
  }

  /** Resolves when a finite source drained or after stop(); rejects with the error when the processor failed. */
  done(): Promise<ProcessorStats> {
    return this.loop ?? Promise.reject(new Error(`processor '${this.options.plan.name}' was never started`));
  }

  status(): SupervisorStatus {
    return this.current;
  }

  /**
   * Cumulative stats. While retrying or after failing, `status` is ASP's `"error"` and the Eddy field
   * `error: {reason, retryable}` says why.
   */
  stats(options: { verbose?: boolean; scale?: number } = {}): ProcessorStats {
    const base =
      this.runtime?.stats(options) ??
      new StatsCollector(this.options.plan.name).snapshot({ stateSize: 0, watermark: undefined }, options);
    const { state, error } = this.current;
    const status = state === "retrying" || state === "failed" ? "error" : state;
    return {
      ...base,
      status,
      ...(error && state !== "running" && state !== "stopped"
        ? { error: { reason: error.message, retryable: error.retryable } }
        : {}),
    };
  }

  private async runLoop(): Promise<ProcessorStats> {
    const { initialDelayMs, maxDelayMs, giveUpAfterMs } = this.retry;
    let failingSince: number | undefined;
    let attempt = 0;
    for (;;) {
      let parts: ProcessorParts | undefined;
      try {
        const checkpoint = await this.store.load();
        if (this.stopping) return this.stoppedNow();
        const opened = await this.options.open(checkpoint?.sourcePositions);
        parts = opened;
        if (this.stopping) {
          await closeParts(opened);
          return this.stoppedNow();
        }
        const runtime = permanentOnThrow(
          () =>
            new ProcessorRuntime(this.options.plan, {
              source: opened.source,
              sink: opened.sink,
              dlq: opened.dlq,
              connectorStage: opened.connectorStage,
              onOutput: this.options.onOutput,
              onDeadLetters: this.options.onDeadLetters,
              checkpoints: this.store,
              checkpointIntervalMs: this.options.checkpointIntervalMs,
              maxStateBytes: this.options.maxStateBytes,
              resumeFrom: checkpoint,
              onRunning: () => this.setStatus({ state: "running", restarts: this.current.restarts }),
              // A saved checkpoint is progress: the next failure starts a fresh back-off and give-up window.
              onCheckpoint: () => {
                failingSince = undefined;
                attempt = 0;
                this.failing = undefined;
              },
            }),
        );
        this.runtime = runtime;
        const stats = await runtime.run();
        await closeParts(opened);
        this.failing = undefined;
        this.setStatus({ state: "stopped", restarts: this.current.restarts });
        return stats;
      } catch (error) {
        if (parts) await closeParts(parts);
        // A replayed run produces again what a failed one could not write, so counts are not added up.
        const unwritten = this.runtime?.unwrittenCount() ?? 0;
        this.failing = { error, unwritten: Math.max(this.failing?.unwritten ?? 0, unwritten) };
        if (this.stopping) return this.stoppedNow();
        const now = Date.now();
        failingSince ??= now;
        const message = errorMessage(error);
        const retryable = isRetryable(error);
        if (!retryable || now - failingSince >= giveUpAfterMs) {
          const reason = retryable
            ? `${message} (still failing after ${Math.round((now - failingSince) / 1000)} s of retries)`
            : message;
          this.options.logger?.error("processor failed", {
            processor: this.options.plan.name,
            error: reason,
          });
          this.setStatus({
            state: "failed",
            error: { message: reason, retryable: false, at: now },
            restarts: this.current.restarts,
          });
          throw error;
        }
        const delay = backoff(attempt++, initialDelayMs, maxDelayMs);
        (this.options.logger ?? silentLogger).warn("processor retrying", {
          processor: this.options.plan.name,
          error: message,
          delayMs: delay,
        });
        this.setStatus({
          state: "retrying",
          error: {
            message: `${message}, retrying in ${Math.ceil(delay / 1000)} s (attempt ${attempt})`,
            retryable: true,
            at: now,
          },
          restarts: this.current.restarts,
          nextRetryAt: now + delay,
        });
        await this.sleep(delay);
        if (this.stopping) return this.stoppedNow();
        this.current = { ...this.current, restarts: this.current.restarts + 1 };
      }
    }
  }

  /**
   * Ends the loop on a stop request: stopped; but while runs were failing, what they did not write is
   * reported as the run's error (StoppedWhileFailingError) rather than hidden behind a clean stop.
   */
  private stoppedNow(): ProcessorStats {
    const failing = this.failing;
    this.setStatus({
      state: "stopped",
      restarts: this.current.restarts,
      ...(failing
        ? { error: { message: errorMessage(failing.error), retryable: true, at: Date.now() } }
        : {}),
    });
    if (failing) throw new StoppedWhileFailingError(failing.error, failing.unwritten);
    return this.stats({ verbose: true });
  }

  private setStatus(status: SupervisorStatus): void {
    this.current = status;
    if (status.state === "failed") this.firstStart?.reject(new Error(status.error?.message ?? "failed"));
    else this.firstStart?.resolve();
    this.firstStart = undefined;
    this.options.onStatus?.(status);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const wake = this.wake;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        wake?.();
        done();
      };
    });
  }
}

/** Exponential back-off with "equal jitter": between half and all of min(max, initial·2^attempt). */
export function backoff(attempt: number, initialDelayMs: number, maxDelayMs: number): number {
  const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

async function closeParts(parts: ProcessorParts): Promise<void> {
  // The runtime closes the source it ran; this covers a run that failed before it started.
  await parts.source.close().catch(() => undefined);
  await parts.sink.close().catch(() => undefined);
  await parts.dlq?.close().catch(() => undefined);
  await parts.close().catch(() => undefined);
}

/** Building the operators only reads the plan: what fails there is the definition, and retrying cannot help. */
function permanentOnThrow<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof ConnectorError) throw error;
    throw new ConnectorError(errorMessage(error), { retryable: false, cause: error });
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

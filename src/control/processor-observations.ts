/**
 * What the server keeps about processor runs besides their state: the stats history (recorded on a timer,
 * the last stats saved when a run ends), the sample taps serving `sample`, and each run's last supervisor
 * status (restarts, the redacted last error) for metrics and views.
 */
import type { ProcessorStats } from "../runtime/index.ts";
import type { Logger } from "../runtime/log.ts";
import type { SupervisorStatus } from "../runtime/supervisor.ts";
import type { Redactor } from "./redactor.ts";
import { SampleTap } from "./sample-tap.ts";
import type { StateStore } from "./state-store.ts";
import { StatsHistory } from "./stats-history.ts";

/** A running processor as the observations see it. */
export interface ObservedRun {
  readonly id: string;
  readonly run: { stats(options: { verbose: boolean }): ProcessorStats };
}

/** Dead-letter records kept per processor for the console. */
const DEAD_LETTERS_KEPT = 100;

export class ProcessorObservations {
  readonly history: StatsHistory;
  /** By processor id; kept after a stop so recent outputs stay visible. */
  private readonly taps = new Map<string, SampleTap>();
  private readonly deadLetterTaps = new Map<string, SampleTap>();
  private readonly statuses = new Map<string, SupervisorStatus>();
  private readonly redactor: Redactor;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;

  constructor(store: StateStore, redactor: Redactor, logger: Logger) {
    this.history = new StatsHistory(store);
    this.redactor = redactor;
    this.logger = logger;
  }

  /** Records the stats of `runs()` every `intervalMs` until `stopRecording`. */
  startRecording(intervalMs: number, runs: () => Iterable<ObservedRun>): void {
    this.timer = setInterval(() => void this.record(runs()), intervalMs);
    this.timer.unref();
  }

  stopRecording(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** A fresh tap for a run that is starting. */
  openTap(id: string): SampleTap {
    const tap = new SampleTap();
    this.taps.set(id, tap);
    return tap;
  }

  tap(id: string): SampleTap | undefined {
    return this.taps.get(id);
  }

  /** A fresh tap of the last dead-letter records, for a run that is starting. */
  openDeadLetterTap(id: string): SampleTap {
    const tap = new SampleTap(DEAD_LETTERS_KEPT);
    this.deadLetterTaps.set(id, tap);
    return tap;
  }

  deadLetterTap(id: string): SampleTap | undefined {
    return this.deadLetterTaps.get(id);
  }

  /** Keeps a run's supervisor status, its error message redacted. */
  setStatus(id: string, status: SupervisorStatus): void {
    const redacted = status.error
      ? { ...status, error: { ...status.error, message: this.redactor.redact(status.error.message) } }
      : status;
    this.statuses.set(id, redacted);
  }

  status(id: string): SupervisorStatus | undefined {
    return this.statuses.get(id);
  }

  clearStatus(id: string): void {
    this.statuses.delete(id);
  }

  /** A processor was dropped: everything kept about it goes. */
  async forget(id: string): Promise<void> {
    await this.history.delete(id);
    this.taps.delete(id);
    this.deadLetterTaps.delete(id);
    this.statuses.delete(id);
  }

  private async record(runs: Iterable<ObservedRun>): Promise<void> {
    for (const active of runs) {
      try {
        await this.history.record(active.id, active.run.stats({ verbose: true }));
      } catch (error) {
        this.logger.warn("could not record stats history", {
          processorId: active.id,
          error: this.redactor.redactError(error),
        });
      }
    }
  }
}

import type { Doc } from "../mql/index.ts";
import type { Item } from "./types.ts";

/** One batch's output as the runtime delivered it. */
export interface WritePart {
  readonly items: readonly Item[];
  readonly docs: readonly Doc[];
  /** When the batch's processing started (performance.now()): its latency runs from there. */
  readonly startedAt: number;
}

/**
 * The sink's writes: one at a time, in delivery order. Output delivered while a write is in flight waits,
 * and the next write carries everything that waited (up to `maxDocs` documents, unless a single batch is
 * larger): a stream of small batches costs one request per round trip to the sink, not one per batch,
 * and a batch that finds the sink idle goes out at once. `deliver` returns without waiting for the sink
 * unless the next write is full (back-pressure). A part is handed to `prepare` (the sink's encoding ahead of its
 * write) only once it is queued: a part waiting for room holds no encoded output besides its documents, so the
 * documents alive at once are those of the write in flight, the next write and the one batch waiting.
 *
 * A failed write fails everything after it: nothing that waited is written, and the failure is thrown by
 * every later `deliver` and `settled` (the runtime then ends without a checkpoint).
 */
export class WritePipeline {
  private readonly writeParts: (parts: readonly WritePart[]) => Promise<void>;
  private readonly prepare: (part: WritePart) => void;
  private readonly maxDocs: number;
  /** The write (or the operation held by `hold`) in flight; never rejects. */
  private inFlight: Promise<void> | undefined;
  private waiting: WritePart[] = [];
  private waitingDocs = 0;
  private failure: { readonly error: unknown } | undefined;
  private closing = false;

  constructor(
    writeParts: (parts: readonly WritePart[]) => Promise<void>,
    maxDocs: number,
    prepare: (part: WritePart) => void = () => undefined,
  ) {
    this.writeParts = writeParts;
    this.prepare = prepare;
    this.maxDocs = Math.max(1, maxDocs);
  }

  /** Queues `part` for the next write; waits while that write is full. Throws an earlier write's failure. */
  async deliver(part: WritePart): Promise<void> {
    while (this.inFlight !== undefined && this.waitingDocs + part.docs.length > this.maxDocs)
      await this.inFlight;
    this.throwFailure();
    this.prepare(part);
    this.waiting.push(part);
    this.waitingDocs += part.docs.length;
    if (this.inFlight === undefined) this.startNext();
  }

  /** Waits until everything delivered is written and what `hold` holds is done; throws the first failure. */
  async settled(): Promise<void> {
    for (;;) {
      this.throwFailure();
      if (this.inFlight !== undefined) await this.inFlight;
      else if (this.waiting.length > 0) this.startNext();
      else return;
    }
  }

  /**
   * Runs `operation` (an exactly-once commit, called when everything delivered is written) in the place of
   * a write: writes delivered meanwhile wait for it, and its failure is theirs.
   */
  hold(operation: Promise<void>): void {
    this.track(operation);
  }

  /** Closing down (after a failure elsewhere): starts no further write; resolves when none is in flight. */
  async idle(): Promise<void> {
    this.closing = true;
    while (this.inFlight !== undefined) await this.inFlight;
  }

  private startNext(): void {
    const parts = this.waiting;
    this.waiting = [];
    this.waitingDocs = 0;
    this.track(this.writeParts(parts));
  }

  private track(operation: Promise<void>): void {
    this.inFlight = operation.then(
      () => {
        this.inFlight = undefined;
        if (this.waiting.length > 0 && this.failure === undefined && !this.closing) this.startNext();
      },
      (error: unknown) => {
        this.inFlight = undefined;
        this.failure ??= { error };
      },
    );
  }

  private throwFailure(): void {
    if (this.failure !== undefined) throw this.failure.error;
  }
}

/**
 * The last outputs of a running processor, for `sample`: a bounded ring buffer that a reader can also wait
 * on when it is empty.
 */
import type { Doc } from "../mql/index.ts";

export class SampleTap {
  private readonly capacity: number;
  private readonly buffer: Doc[] = [];
  /** How many outputs were ever pushed: a reader's position counts from the run's start. */
  private pushed = 0;
  private waiters: Array<() => void> = [];

  constructor(capacity = 1000) {
    this.capacity = capacity;
  }

  /** Called with each batch the sink wrote. */
  push(docs: readonly Doc[]): void {
    this.pushed += docs.length;
    for (const doc of docs.length > this.capacity ? docs.slice(-this.capacity) : docs) this.buffer.push(doc);
    if (this.buffer.length > this.capacity) this.buffer.splice(0, this.buffer.length - this.capacity);
    if (docs.length > 0) this.wake();
  }

  /**
   * Up to `limit` of the most recent outputs (oldest first). When none are buffered yet, waits up to
   * `timeoutMs` for the next batch (or until `signal` aborts).
   */
  async take(limit: number, timeoutMs: number, signal?: AbortSignal): Promise<Doc[]> {
    if (this.buffer.length === 0 && timeoutMs > 0) await this.waitForData(timeoutMs, signal);
    return this.buffer.slice(-limit);
  }

  /**
   * Up to `limit` outputs pushed after `position` that are still buffered (older ones are lost), and the
   * position after them: a cursor's next page. Waits up to `timeoutMs` when there is nothing new yet.
   */
  async after(
    position: number,
    limit: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ docs: Doc[]; position: number }> {
    if (position >= this.pushed && timeoutMs > 0) await this.waitForData(timeoutMs, signal);
    const first = Math.max(position, this.pushed - this.buffer.length);
    const start = this.buffer.length - (this.pushed - first);
    const docs = this.buffer.slice(start, start + limit);
    return { docs, position: first + docs.length };
  }

  /** The position of the newest output: a cursor opened now reads what comes after it. */
  get position(): number {
    return this.pushed;
  }

  /** Releases every waiter (the processor stopped). */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private waitForData(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
      this.waiters.push(done);
    });
  }
}

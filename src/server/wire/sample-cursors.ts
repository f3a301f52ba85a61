/**
 * The sample cursors of `sp.<name>.sample()` and `sp.process()`: each remembers how far it has read a
 * processor's outputs; a page ends the cursor (id 0) once the processor's run is over and everything it
 * produced has been read. Drivers spread commands over pooled connections, so a cursor is not tied to one:
 * it expires after ten minutes without a page, and an `sp.process()` processor goes with its cursor (ASP
 * runs those for ten minutes at most).
 */
import { calculateObjectSize, Long, type Document } from "bson";
import { randomInt } from "node:crypto";
import type { ProcessorManager } from "../../control/processor-manager.ts";
import { CommandError } from "./command-error.ts";

/** How long a page waits for new outputs before it answers with none (mongosh then waits 1 s itself). */
const PAGE_WAIT_MS = 500;
const PAGE_MESSAGES = 100;
export const CURSOR_IDLE_MS = 10 * 60_000;

interface Cursor {
  readonly workspace: string;
  readonly processor: string;
  /** The processor is `sp.process()`'s: dropped when the cursor expires. */
  readonly ephemeral: boolean;
  position: number;
  lastUsed: number;
  /** Messages still to return when the sample asked for a `limit`. */
  remaining: number;
}

export interface SamplePage {
  readonly messages: Document[];
  readonly cursorId: Long;
}

export class SampleCursors {
  private readonly cursors = new Map<number, Cursor>();
  private readonly processors: ProcessorManager;
  /** Replies must stay under the wire's maximum message size. */
  private readonly pageBytes: number;

  private readonly sweeper: NodeJS.Timeout;

  constructor(processors: ProcessorManager, pageBytes: number, idleMs = CURSOR_IDLE_MS) {
    this.processors = processors;
    this.pageBytes = pageBytes;
    this.sweeper = setInterval(() => void this.expire(idleMs), Math.min(idleMs, 30_000)).unref();
  }

  /**
   * A cursor over the outputs that come after now (`fromStart`: from the run's start), ending after `limit`
   * messages when one is given.
   */
  async open(
    workspace: string,
    processor: string,
    options: { fromStart?: boolean; limit?: number; ephemeral?: boolean } = {},
  ): Promise<Long> {
    const position = options.fromStart ? 0 : await this.processors.samplePosition(workspace, processor);
    let id: number;
    do id = randomInt(1, 2 ** 47);
    while (this.cursors.has(id));
    const remaining = options.limit ?? Number.POSITIVE_INFINITY;
    this.cursors.set(id, {
      workspace,
      processor,
      ephemeral: options.ephemeral ?? false,
      position,
      remaining,
      lastUsed: Date.now(),
    });
    return Long.fromNumber(id);
  }

  async next(id: unknown, processor: string, signal: AbortSignal): Promise<SamplePage> {
    const key = Number(id);
    const cursor = this.cursors.get(key);
    if (!cursor || cursor.processor !== processor) {
      throw new CommandError(43, "CursorNotFound", `cursor id ${String(id)} not found for '${processor}'`);
    }
    cursor.lastUsed = Date.now();
    const page = await this.processors.sampleAfter(cursor.workspace, cursor.processor, cursor.position, {
      limit: Math.min(PAGE_MESSAGES, cursor.remaining),
      timeoutMs: PAGE_WAIT_MS,
      signal,
    });
    const messages = this.fitting(page.messages);
    cursor.position = page.position - (page.messages.length - messages.length);
    cursor.remaining -= messages.length;
    const drained = !page.running && messages.length === page.messages.length;
    const finished = drained || cursor.remaining <= 0;
    if (finished) this.cursors.delete(key);
    return { messages, cursorId: Long.fromNumber(finished ? 0 : key) };
  }

  /** Stops expiring cursors and drops the `sp.process()` processors still open (the server is stopping). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.expire(-1);
  }

  /** Forgets cursors idle for longer than `idleMs`, dropping their `sp.process()` processors. */
  private async expire(idleMs: number): Promise<void> {
    const now = Date.now();
    for (const [id, cursor] of this.cursors) {
      if (now - cursor.lastUsed <= idleMs) continue;
      this.cursors.delete(id);
      if (cursor.ephemeral) {
        await this.processors.drop(cursor.workspace, cursor.processor).catch(() => undefined);
      }
    }
  }

  /** The leading messages whose total size fits one reply (at least one, which the frame limit bounds). */
  private fitting(messages: Document[]): Document[] {
    let bytes = 0;
    for (let i = 0; i < messages.length; i++) {
      bytes += calculateObjectSize(messages[i]);
      if (bytes > this.pageBytes && i > 0) return messages.slice(0, i);
    }
    return messages;
  }
}

/**
 * The sample cursors of `sp.<name>.sample()` and `sp.process()`: each remembers how far it has read a
 * processor's outputs; a page ends the cursor (id 0) once the processor's run is over and everything it
 * produced has been read. Cursors belong to the connection that opened them and go with it.
 */
import { calculateObjectSize, Long, type Document } from "bson";
import { randomInt } from "node:crypto";
import type { ProcessorManager } from "../../control/processor-manager.ts";
import { CommandError } from "./command-error.ts";

/** How long a page waits for new outputs before it answers with none (mongosh then waits 1 s itself). */
const PAGE_WAIT_MS = 500;
const PAGE_MESSAGES = 100;

interface Cursor {
  readonly workspace: string;
  readonly processor: string;
  readonly connectionId: number;
  position: number;
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

  constructor(processors: ProcessorManager, pageBytes: number) {
    this.processors = processors;
    this.pageBytes = pageBytes;
  }

  /** A cursor over the outputs that come after now (`fromStart`: after the run began). */
  async open(workspace: string, processor: string, connectionId: number, fromStart = false): Promise<Long> {
    const position = fromStart ? 0 : await this.processors.samplePosition(workspace, processor);
    let id: number;
    do id = randomInt(1, 2 ** 47);
    while (this.cursors.has(id));
    this.cursors.set(id, { workspace, processor, connectionId, position });
    return Long.fromNumber(id);
  }

  async next(id: unknown, processor: string, signal: AbortSignal): Promise<SamplePage> {
    const key = Number(id);
    const cursor = this.cursors.get(key);
    if (!cursor || cursor.processor !== processor) {
      throw new CommandError(43, "CursorNotFound", `cursor id ${String(id)} not found for '${processor}'`);
    }
    const page = await this.processors.sampleAfter(
      cursor.workspace,
      cursor.processor,
      cursor.position,
      PAGE_MESSAGES,
      PAGE_WAIT_MS,
      signal,
    );
    const messages = this.fitting(page.messages);
    cursor.position = page.position - (page.messages.length - messages.length);
    const finished = !page.running && messages.length === page.messages.length;
    if (finished) this.cursors.delete(key);
    return { messages, cursorId: Long.fromNumber(finished ? 0 : key) };
  }

  /** Forgets the cursors of a connection that closed. */
  closeAll(connectionId: number): void {
    for (const [id, cursor] of this.cursors)
      if (cursor.connectionId === connectionId) this.cursors.delete(id);
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

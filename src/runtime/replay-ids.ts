import { createHash, randomBytes } from "node:crypto";
import { ObjectId } from "bson";
import type { Doc } from "../mql/index.ts";

/**
 * Stable identities for the documents a processor produces, so that a replay after a crash produces
 * the same `_id`s and `$merge` overwrites instead of inserting twice.
 *
 * Every input record gets an origin `<partition>:<n>` — its ordinal within its source partition
 * (partition order is what every source guarantees on replay) — and every window result an origin
 * `w:<n>` in closing order. The counters are part of the checkpoint, so the records replayed after a
 * resume get the origins they had before the crash. `run` is drawn at a fresh start (no checkpoint) and
 * kept in the checkpoint — the runtime saves checkpoint 0 with it before the first write, so even a run
 * killed before its first periodic checkpoint is replayed with the same ids — while a processor restarted
 * afresh (`resumeFromCheckpoint: false`) never reuses ids.
 */
export class ReplayIds {
  private readonly processorName: string;
  private readonly run: string;
  private readonly partitions: Map<string | number, number>;
  private windowOutputs: number;
  /** When the run started (epoch ms): the time in ids when event times are read times (`idFor`). */
  readonly startedAt: number;

  constructor(processorName: string, saved?: Doc, now: number = Date.now()) {
    this.processorName = processorName;
    const entries = Array.isArray(saved?.partitions) ? (saved.partitions as [string | number, number][]) : [];
    this.run = typeof saved?.run === "string" ? saved.run : randomBytes(8).toString("hex");
    this.startedAt = typeof saved?.startedAt === "number" ? saved.startedAt : now;
    this.partitions = new Map(entries.map(([key, count]) => [key, Number(count)]));
    this.windowOutputs = Number(saved?.windowOutputs ?? 0);
  }

  /** Origin of the next record read from `partition`. */
  inputOrigin(partition: string | number): string {
    const n = this.partitions.get(partition) ?? 0;
    this.partitions.set(partition, n + 1);
    return `${partition}:${n}`;
  }

  /** Origin of the next window result. */
  windowOrigin(): string {
    return `w:${this.windowOutputs++}`;
  }

  /**
   * The `_id` of the `ordinal`-th output derived from `origin` (`$unwind` makes several): an ObjectId
   * whose timestamp is the event time (seconds) and whose other 8 bytes hash processor, run and origin.
   * `eventTime` must be the same on a replay: callers pass `startedAt` when event times are read times.
   */
  idFor(origin: string, ordinal: number, eventTime: number): ObjectId {
    const bytes = Buffer.alloc(12);
    const seconds = Math.floor(eventTime / 1000);
    bytes.writeUInt32BE(Number.isFinite(seconds) ? Math.min(Math.max(seconds, 0), 0xffffffff) : 0, 0);
    createHash("sha256")
      .update(`${this.processorName}\u0000${this.run}\u0000${origin}\u0000${ordinal}`)
      .digest()
      .copy(bytes, 4, 0, 8);
    return new ObjectId(bytes);
  }

  snapshot(): Doc {
    return {
      run: this.run,
      startedAt: this.startedAt,
      partitions: [...this.partitions],
      windowOutputs: this.windowOutputs,
    };
  }
}

import { randomInt } from "node:crypto";
import type { Doc } from "../mql/index.ts";

/**
 * A consistent cut of one processor: where every source was (positions, not data) and the state every
 * stateful operator held after the last batch before those positions was fully written to the sink and
 * the DLQ. Restoring it and re-reading the sources from `sourcePositions` continues the processor as if
 * it had never stopped (see docs/checkpoints.md).
 */
export interface Checkpoint {
  /** 1, 2, 3… per processor (continues across restarts). */
  readonly id: number;
  /** Epoch ms when the checkpoint was taken. */
  readonly createdAt: number;
  /** `Source.positions()` at the barrier: Kafka offsets, a change-stream resume token, a line number… */
  readonly sourcePositions: Doc;
  /** Window and watermark snapshots plus the runtime's own replay state; BSON/EJSON-serialisable. */
  readonly operatorState?: Doc;
  /** Cumulative counters, so stats continue after a resume instead of starting from zero. */
  readonly stats?: Doc;
  /**
   * With an exactly-once sink: the marker the sink commits together with the output up to this
   * checkpoint. The checkpoint counts only once the sink's last committed marker equals it.
   */
  readonly commitMarker?: number;
}

/** Where one processor's last checkpoint is kept. Only the newest checkpoint matters. */
export interface CheckpointStore {
  load(): Promise<Checkpoint | undefined>;
  /** Replaces the stored checkpoint atomically: after a crash `load()` returns the old or the new one, whole. */
  save(checkpoint: Checkpoint): Promise<void>;
  /** Forgets the checkpoint (`resumeFromCheckpoint: false`): the next start begins afresh. */
  clear(): Promise<void>;
}

/**
 * Keeps the checkpoint in memory: a processor restarted by its supervisor after a transient failure
 * resumes from it, but nothing survives the process.
 */
export class MemoryCheckpointStore implements CheckpointStore {
  private checkpoint: Checkpoint | undefined;

  async load(): Promise<Checkpoint | undefined> {
    return this.checkpoint;
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    this.checkpoint = checkpoint;
  }

  async clear(): Promise<void> {
    this.checkpoint = undefined;
  }
}

/** What `stats().lastCheckpoint` reports (an Eddy extension to ASP's stats). */
export interface CheckpointInfo {
  readonly id: number;
  /** From the barrier to the store's acknowledgement of the write (sink/DLQ flush and save). */
  readonly durationMillis: number;
  /** BSON size of the checkpoint record. */
  readonly sizeBytes: number;
  /** When the checkpoint was taken. */
  readonly at: Date;
}

/**
 * How often the runtime takes a checkpoint by default. Short enough that a crash replays only a few
 * seconds of input (and Kafka consumer-group offsets, committed after each checkpoint, lag by no more
 * than this); long enough that the write (one fsynced file or one document) costs nothing noticeable.
 */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 5_000;

/**
 * A new commit marker for an exactly-once sink: random rather than the checkpoint id, so a marker left in
 * Kafka by an earlier history of the processor (checkpoints cleared, ids restarted) never matches a new one.
 */
export function newCommitMarker(): number {
  return randomInt(1, 2 ** 47);
}

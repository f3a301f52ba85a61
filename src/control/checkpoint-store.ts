/**
 * Checkpoints kept in the control plane's state store. The bulky part, `operatorState` (window contents),
 * is stored as BSON split into binary chunks of at most `chunkBytes` (8 MB) in the `checkpointChunks`
 * collection, so state of any size fits every store (a MongoDB document holds 16 MB) and loads several
 * times faster than Extended JSON text. The rest of the checkpoint (id, positions, stats and any other
 * field) is the head record in `checkpoints`, which also names the chunks.
 *
 * A save writes the new chunks under names of their own, then replaces the head (one atomic `put`), then
 * deletes the previous checkpoint's chunks: a crash at any point leaves a head whose chunks are all there.
 * Heads written before chunking (the whole checkpoint as one record) still load.
 *
 * Under a lease (docs/scale-out.md) the checkpoints are fenced by the lease's token: `load` first claims
 * the head with it, and a save writes the head only while no higher token has claimed it, in one atomic
 * step of the store; chunks carry the token in their names, so a stale holder's chunks never replace a newer
 * holder's. A refused save deletes the chunks it wrote, touches nothing else and throws FencedWriteError.
 */
import type { Doc } from "../mql/index.ts";
import type { Checkpoint, CheckpointStore } from "../runtime/checkpoint.ts";
import { slotKey } from "../runtime/two-phase-checkpoints.ts";
import { decodeBinaryRecord, encodeBinaryRecord } from "./record-codec.ts";
import { FencedWriteError } from "./leases/lease.ts";
import type { FencedWrites, StateStore } from "./state-store.ts";

export const CHECKPOINTS_COLLECTION = "checkpoints";
export const CHECKPOINT_CHUNKS_COLLECTION = "checkpointChunks";
/** Half of MongoDB's 16 MB document limit: room for the chunk document's other fields, with a wide margin. */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

/** Where a head's operator state is: chunks `<key>@<generation>.<0…chunks-1>`, `bytes` long in all. */
interface ChunkSet {
  readonly generation: string;
  readonly chunks: number;
  readonly bytes: number;
}

/** The head record: the checkpoint without `operatorState`, plus where that is. */
interface Head extends Omit<Checkpoint, "operatorState"> {
  readonly operatorState?: Doc;
  readonly operatorStateChunks?: ChunkSet;
  /**
   * The previous head's chunks, deleted right after this head was written; deleted again by the next save
   * in case a crash came in between.
   */
  readonly retiredChunks?: ChunkSet;
}

export interface StateStoreCheckpointsOptions {
  /** Largest chunk of encoded operator state, default {@link DEFAULT_CHUNK_BYTES}. */
  readonly chunkBytes?: number;
  /** The fencing token of the lease these checkpoints are written under (the store must offer `fenced`). */
  readonly fence?: number;
}

export class StateStoreCheckpoints implements CheckpointStore {
  private readonly store: StateStore;
  private readonly key: string;
  private readonly chunkBytes: number;
  private readonly fence: { readonly token: number; readonly writes: FencedWrites } | undefined;

  /** `key` names the processor, e.g. `<workspace>.<processor name>`; it must stay the same across restarts. */
  constructor(store: StateStore, key: string, options: StateStoreCheckpointsOptions = {}) {
    this.store = store;
    this.key = key;
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (options.fence !== undefined) {
      const writes = store.fenced?.();
      if (!writes) throw new Error("this state store cannot fence checkpoints (it has no leases)");
      this.fence = { token: options.fence, writes };
    }
  }

  async load(): Promise<Checkpoint | undefined> {
    // From here on a holder with a lower token (the previous one, paused) can no longer save.
    if (this.fence && !(await this.fence.writes.claim(CHECKPOINTS_COLLECTION, this.key, this.fence.token)))
      throw this.refused();
    const head = await this.head();
    if (!head) return undefined;
    const { operatorStateChunks: set, retiredChunks: _retired, ...checkpoint } = head;
    if (!set) return checkpoint; // no operator state, or a checkpoint written before chunking
    const chunks = await Promise.all(
      Array.from({ length: set.chunks }, async (_, index) => {
        const chunk = await this.store.getBytes(CHECKPOINT_CHUNKS_COLLECTION, this.chunkId(set, index));
        if (!chunk)
          throw new Error(
            `checkpoint '${this.key}' ${checkpoint.id}: chunk ${index} of ${set.chunks} is missing`,
          );
        return chunk;
      }),
    );
    const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    if (bytes.length !== set.bytes)
      throw new Error(`checkpoint '${this.key}' ${checkpoint.id}: ${bytes.length} of ${set.bytes} bytes`);
    return { ...checkpoint, operatorState: decodeBinaryRecord(bytes) };
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    const previous = await this.head();
    const { operatorState, ...rest } = checkpoint;
    let head: Head = rest;
    if (operatorState !== undefined) {
      const set = await this.writeChunks(encodeBinaryRecord(operatorState), checkpoint.id, previous);
      head = { ...rest, operatorStateChunks: set };
    }
    if (previous?.operatorStateChunks) head = { ...head, retiredChunks: previous.operatorStateChunks };
    if (!(await this.putHead(head))) {
      await this.deleteChunks(head.operatorStateChunks);
      throw this.refused();
    }
    await this.deleteChunks(previous?.operatorStateChunks);
    await this.deleteChunks(previous?.retiredChunks);
  }

  async clear(): Promise<void> {
    const head = await this.head();
    await this.store.delete(CHECKPOINTS_COLLECTION, this.key);
    await this.deleteChunks(head?.operatorStateChunks);
    await this.deleteChunks(head?.retiredChunks);
  }

  /** Writes the head, fenced when under a lease; false when a newer holder's token refused it. */
  private async putHead(head: Head): Promise<boolean> {
    if (!this.fence) {
      await this.store.put(CHECKPOINTS_COLLECTION, this.key, head);
      return true;
    }
    return this.fence.writes.put(CHECKPOINTS_COLLECTION, this.key, head, this.fence.token);
  }

  private refused(): FencedWriteError {
    return new FencedWriteError(`checkpoint '${this.key}'`, this.fence?.token ?? 0);
  }

  private async head(): Promise<Head | undefined> {
    return this.store.get<Head>(CHECKPOINTS_COLLECTION, this.key);
  }

  /** Writes `bytes` as chunks of a generation that the stored head does not use. */
  private async writeChunks(bytes: Uint8Array, id: number, previous: Head | undefined): Promise<ChunkSet> {
    // A fenced holder's chunks are its own: another holder's save of the same id must not overwrite them.
    let generation = this.fence ? `${id}~${this.fence.token}` : String(id);
    const inUse = [previous?.operatorStateChunks?.generation, previous?.retiredChunks?.generation];
    while (inUse.includes(generation)) generation += "+";
    const set: ChunkSet = {
      generation,
      chunks: Math.max(1, Math.ceil(bytes.length / this.chunkBytes)),
      bytes: bytes.length,
    };
    await Promise.all(
      Array.from({ length: set.chunks }, (_, index) =>
        this.store.putBytes(
          CHECKPOINT_CHUNKS_COLLECTION,
          this.chunkId(set, index),
          bytes.subarray(index * this.chunkBytes, (index + 1) * this.chunkBytes),
        ),
      ),
    );
    // A save of the same generation that a crash interrupted may have left more chunks than this one has.
    for (let index = set.chunks; ; index++)
      if (!(await this.store.delete(CHECKPOINT_CHUNKS_COLLECTION, this.chunkId(set, index)))) break;
    return set;
  }

  private async deleteChunks(set: ChunkSet | undefined): Promise<void> {
    if (!set) return;
    await Promise.all(
      Array.from({ length: set.chunks }, (_, index) =>
        this.store.delete(CHECKPOINT_CHUNKS_COLLECTION, this.chunkId(set, index)),
      ),
    );
  }

  private chunkId(set: ChunkSet, index: number): string {
    return `${this.key}@${set.generation}.${index}`;
  }
}

/**
 * Slot `slot` of processor `id`'s checkpoints (slot 1 is used by exactly-once sinks only), fenced by
 * `fence` when written under a lease with that token.
 */
export function processorCheckpoints(
  store: StateStore,
  id: string,
  slot: 0 | 1,
  fence?: number,
): StateStoreCheckpoints {
  return new StateStoreCheckpoints(store, slotKey(id, slot), fence !== undefined ? { fence } : {});
}

/**
 * Slot `slot` of the checkpoints of partition `partition` of scaled-out processor `id` (docs/scale-out.md),
 * fenced by the partition lease's token `fence` when several instances share the store.
 */
export function partitionCheckpoints(
  store: StateStore,
  id: string,
  partition: number,
  slot: 0 | 1,
  fence?: number,
): StateStoreCheckpoints {
  return processorCheckpoints(store, `${id}/partition/${partition}`, slot, fence);
}

/** Forgets every partition checkpoint of processor `id`. */
export async function clearPartitionCheckpoints(store: StateStore, id: string): Promise<void> {
  const prefix = `${id}/partition/`;
  const heads = await store.list(CHECKPOINTS_COLLECTION);
  await Promise.all(
    heads
      .filter((head) => head.id.startsWith(prefix))
      .map((head) => new StateStoreCheckpoints(store, head.id).clear()),
  );
}

/** Forgets both slots: clearing slot 1 when only slot 0 was used is harmless. */
export async function clearProcessorCheckpoints(store: StateStore, id: string): Promise<void> {
  await Promise.all([processorCheckpoints(store, id, 0).clear(), processorCheckpoints(store, id, 1).clear()]);
}

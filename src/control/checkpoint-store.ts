/**
 * Checkpoints kept in the control plane's state store: one record per processor in the `checkpoints`
 * collection, replaced atomically by each new checkpoint (every StateStore `put` is atomic).
 */
import type { Checkpoint, CheckpointStore } from "../runtime/checkpoint.ts";
import type { StateStore } from "./state-store.ts";

export const CHECKPOINTS_COLLECTION = "checkpoints";

export class StateStoreCheckpoints implements CheckpointStore {
  private readonly store: StateStore;
  private readonly key: string;

  /** `key` names the processor, e.g. `<workspace>.<processor name>`; it must stay the same across restarts. */
  constructor(store: StateStore, key: string) {
    this.store = store;
    this.key = key;
  }

  async load(): Promise<Checkpoint | undefined> {
    return this.store.get<Checkpoint>(CHECKPOINTS_COLLECTION, this.key);
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    await this.store.put(CHECKPOINTS_COLLECTION, this.key, checkpoint);
  }

  async clear(): Promise<void> {
    await this.store.delete(CHECKPOINTS_COLLECTION, this.key);
  }
}

import type { Checkpoint, CheckpointStore } from "./checkpoint.ts";

/**
 * A processor's checkpoint slots. Slot 0 is where every processor keeps its checkpoint; slot 1 is used
 * only by {@link TwoPhaseCheckpoints}.
 */
export type CheckpointSlots = (slot: 0 | 1) => CheckpointStore;

/** The key of `slot` for a store that keeps one record per key: slot 0 is the key itself. */
export function slotKey(key: string, slot: 0 | 1): string {
  return slot === 0 ? key : `${key}:txn`;
}

/**
 * Checkpoints of a processor whose sink commits transactionally (exactly-once Kafka `$emit`). The runtime
 * saves checkpoint N, then the sink commits N's output together with N's `commitMarker`. A crash between
 * the two leaves N saved but its output aborted, so N must not count and N − 1 must still be there: the
 * checkpoints alternate between two slots, and `load()` returns the one whose marker is the sink's last
 * committed marker.
 */
export class TwoPhaseCheckpoints implements CheckpointStore {
  private readonly slots: readonly [CheckpointStore, CheckpointStore];
  private readonly committedMarker: () => Promise<number | undefined>;
  /** The slot holding the checkpoint that counts; the next save goes to the other one. */
  private current = 1;

  /**
   * `committedMarker` fences earlier writers of the sink and then reads its last committed marker
   * (undefined when it never committed one).
   */
  constructor(
    slots: readonly [CheckpointStore, CheckpointStore],
    committedMarker: () => Promise<number | undefined>,
  ) {
    this.slots = slots;
    this.committedMarker = committedMarker;
  }

  async load(): Promise<Checkpoint | undefined> {
    const [marker, ...stored] = await Promise.all([
      this.committedMarker(),
      this.slots[0].load(),
      this.slots[1].load(),
    ]);
    const index = pickSlot(stored, marker);
    this.current = index ?? 1;
    return index === undefined ? undefined : stored[index];
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    const next = 1 - this.current;
    await this.slots[next].save(checkpoint);
    // The runtime saves N + 1 only after N's commit succeeded, so N is safe to keep as the fallback.
    this.current = next;
  }

  async clear(): Promise<void> {
    await Promise.all([this.slots[0].clear(), this.slots[1].clear()]);
    this.current = 1;
  }
}

/**
 * The slot that counts: the one carrying the committed marker; else one saved before the processor was
 * exactly-once (no marker at all), the newest if both are; else none (the sink never committed anything
 * that a stored checkpoint describes, so the processor starts afresh).
 */
function pickSlot(
  stored: readonly (Checkpoint | undefined)[],
  marker: number | undefined,
): number | undefined {
  if (marker !== undefined) {
    // Number(): a store may hand the marker back as a BSON Long.
    const committed = stored.findIndex(
      (c) => c?.commitMarker !== undefined && Number(c.commitMarker) === marker,
    );
    if (committed >= 0) return committed;
  }
  let legacy: number | undefined;
  stored.forEach((checkpoint, index) => {
    if (!checkpoint || checkpoint.commitMarker !== undefined) return;
    if (legacy === undefined || checkpoint.id > (stored[legacy] as Checkpoint).id) legacy = index;
  });
  return legacy;
}

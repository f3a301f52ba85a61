import type { LeaseStore } from "./leases/lease.ts";

/** Where the control plane keeps processor definitions, states, stats history and checkpoints. */
export interface StateStore {
  get<T>(collection: string, id: string): Promise<T | undefined>;
  /** Replaces the record atomically: after a crash a reader sees the old or the new value, never a mix. */
  put(collection: string, id: string, value: unknown): Promise<void>;
  /** Removes a record, or a binary record (`putBytes`). */
  delete(collection: string, id: string): Promise<boolean>;
  /**
   * Stores raw bytes (checkpoint chunks), replaced atomically like `put`. Binary records live in collections
   * of their own: `get` and `list` do not read them. A store may cap one record's size (MongoDB: 16 MB).
   */
  putBytes(collection: string, id: string, bytes: Uint8Array): Promise<void>;
  getBytes(collection: string, id: string): Promise<Uint8Array | undefined>;
  list<T>(collection: string): Promise<Array<{ id: string; value: T }>>;
  close(): Promise<void>;
  /**
   * Leases over the same server, for stores that several `sp serve` instances can share (MongoDB, Redis);
   * absent for the embedded file store.
   */
  leases?(): LeaseStore;
  /**
   * Writes fenced by a lease's fencing token (docs/scale-out.md), for the stores that have leases; absent
   * for the file store, which one instance alone uses.
   */
  fenced?(): FencedWrites;
}

/**
 * Records guarded by a fencing token: each record keeps the highest token that claimed or wrote it, and a
 * write carrying a lower token (a holder that lost its lease while paused) is refused. Each method is one
 * atomic step on the store, so no holder can slip a write in between the check and the write.
 */
export interface FencedWrites {
  /** Raises the record's token to `token`; false (nothing changed) when it holds a higher one already. */
  claim(collection: string, id: string, token: number): Promise<boolean>;
  /**
   * Replaces the record (as `put`) and sets its token to `token`, unless it holds a higher one; false then,
   * and nothing was written.
   */
  put(collection: string, id: string, value: unknown, token: number): Promise<boolean>;
}

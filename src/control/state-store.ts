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
}

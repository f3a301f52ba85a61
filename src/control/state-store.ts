import { Long } from "bson";
import type { LeaseStore } from "./leases/lease.ts";
import { decodeRecord, encodeRecord } from "./record-codec.ts";

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
  /**
   * Raises numeric fields of a record in one atomic step: each of `fields` becomes the higher of its stored
   * figure and the given one (a missing or non-number stored field counts as lower; a Long, as the store
   * reads back an integer past 32 bits, is a number), each of `set` is
   * replaced, the record's other fields are kept, and a missing record starts empty. Concurrent raises of
   * one record all count: none lowers a field another raised. Field names are plain (no `.`, no leading
   * `$`) and the figures finite. A `put` still replaces the record whole.
   */
  raiseFields(
    collection: string,
    id: string,
    fields: RaisedFields,
    set?: Readonly<Record<string, unknown>>,
  ): Promise<void>;
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

export type RaisedFields = Readonly<Record<string, number>>;

/** The record `raiseFields` leaves (see there), from the one stored (undefined: none). */
export function raisedRecord(
  stored: unknown,
  fields: RaisedFields,
  set: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  const base = stored !== null && typeof stored === "object" ? (stored as Record<string, unknown>) : {};
  const raised: Record<string, unknown> = { ...base, ...set };
  for (const [field, figure] of Object.entries(fields)) {
    const kept = base[field];
    const keptFigure = typeof kept === "number" ? kept : kept instanceof Long ? kept.toNumber() : undefined;
    raised[field] = keptFigure !== undefined && keptFigure > figure ? kept : figure;
  }
  return raised;
}

/** {@link raisedRecord} over a store's record text (undefined: none), as the text to store. */
export function raisedRecordText(
  stored: string | undefined,
  fields: RaisedFields,
  set?: Readonly<Record<string, unknown>>,
): string {
  return encodeRecord(raisedRecord(stored === undefined ? undefined : decodeRecord(stored), fields, set));
}

/** Refuses what `raiseFields` does not take: a field name MongoDB would read as a path, a figure not finite. */
export function checkRaise(fields: RaisedFields, set: Readonly<Record<string, unknown>> = {}): void {
  for (const name of [...Object.keys(fields), ...Object.keys(set)])
    if (name === "" || name.includes(".") || name.startsWith("$"))
      throw new TypeError(`raiseFields: '${name}' is not a plain field name`);
  for (const [name, figure] of Object.entries(fields))
    if (!Number.isFinite(figure))
      throw new TypeError(`raiseFields: ${name} is not a finite number (${figure})`);
}

/**
 * `$cachedLookup`'s cache: foreign documents per local value, kept for a TTL and under a byte budget.
 * When full, expired entries go first, then the oldest (ASP evicts randomly; oldest-first is deterministic).
 */
import { calculateObjectSize } from "bson";
import type { Doc } from "../../mql/index.ts";
import { groupKeyOf } from "../../mql/group-key.ts";

interface Entry {
  readonly docs: readonly Doc[];
  readonly expiresAt: number;
  readonly bytes: number;
}

export class LookupCache {
  private readonly ttlMs: number;
  private readonly maxBytes: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(ttlMs: number, maxBytes: number, now: () => number = Date.now) {
    this.ttlMs = ttlMs;
    this.maxBytes = maxBytes;
    this.now = now;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  /** Splits `values` into cached documents (fresh entries) and values that must be fetched. */
  lookup(values: readonly unknown[]): { hits: Doc[]; misses: unknown[] } {
    const hits: Doc[] = [];
    const misses: unknown[] = [];
    const now = this.now();
    for (const value of values) {
      const key = groupKeyOf(value);
      const entry = this.entries.get(key);
      if (entry && entry.expiresAt > now) hits.push(...entry.docs);
      else {
        if (entry) this.remove(key, entry);
        misses.push(value);
      }
    }
    return { hits, misses };
  }

  store(value: unknown, docs: readonly Doc[]): void {
    const key = groupKeyOf(value);
    const old = this.entries.get(key);
    if (old) this.remove(key, old);
    const bytes = docs.reduce((sum, doc) => sum + calculateObjectSize(doc), 64);
    if (bytes > this.maxBytes) return;
    this.makeRoom(bytes);
    this.entries.set(key, { docs, expiresAt: this.now() + this.ttlMs, bytes });
    this.bytes += bytes;
  }

  private makeRoom(bytes: number): void {
    if (this.bytes + bytes <= this.maxBytes) return;
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.remove(key, entry);
    for (const [key, entry] of this.entries) {
      if (this.bytes + bytes <= this.maxBytes) break;
      this.remove(key, entry);
    }
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }
}

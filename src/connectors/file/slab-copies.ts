/** Size of one slab: a few stdin reads (64 KiB each). */
const SLAB_BYTES = 256 * 1024;
/** Emptied slabs kept for reuse; more are left to the garbage collector. */
const MAX_SPARE_SLABS = 8;

interface Slab {
  readonly bytes: Buffer;
  used: number;
  /** Copies with a piece in this slab that were not freed yet. */
  live: number;
}

/** Bytes copied by {@link SlabCopies.copy}: in order, one piece per slab they fell in. */
export interface SlabCopy {
  readonly pieces: readonly Buffer[];
  readonly length: number;
  readonly slabs: readonly Slab[];
}

/**
 * Copies of byte chunks kept in a few long-lived slabs, reused once every copy in them was freed. A chunk
 * kept for a while (a stream's input kept for a restart) would otherwise outlive two scavenges, move to
 * V8's old generation and be freed only by a full collection: memory that grows with the input's rate
 * and that the allocator keeps. Copies are freed in about the order they were made (oldest first), so a
 * slab empties soon after it filled.
 */
export class SlabCopies {
  private current: Slab | undefined;
  private readonly spare: Slab[] = [];

  copy(chunk: Buffer): SlabCopy {
    const pieces: Buffer[] = [];
    const slabs: Slab[] = [];
    for (let offset = 0; offset < chunk.length;) {
      const slab = this.writable();
      const n = Math.min(chunk.length - offset, slab.bytes.length - slab.used);
      chunk.copy(slab.bytes, slab.used, offset, offset + n);
      pieces.push(slab.bytes.subarray(slab.used, slab.used + n));
      slab.used += n;
      slab.live++;
      slabs.push(slab);
      offset += n;
    }
    return { pieces, length: chunk.length, slabs };
  }

  /** The copy's bytes will not be read again: its slabs can be reused once nothing else is in them. */
  free(copy: SlabCopy): void {
    for (const slab of copy.slabs) {
      slab.live--;
      if (slab.live === 0 && slab !== this.current) this.recycle(slab);
    }
  }

  private writable(): Slab {
    const current = this.current;
    if (current && current.used < current.bytes.length) return current;
    if (current && current.live === 0) this.recycle(current);
    const next = this.spare.pop() ?? { bytes: Buffer.allocUnsafeSlow(SLAB_BYTES), used: 0, live: 0 };
    this.current = next;
    return next;
  }

  private recycle(slab: Slab): void {
    slab.used = 0;
    if (this.spare.length < MAX_SPARE_SLABS) this.spare.push(slab);
  }
}

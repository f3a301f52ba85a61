/**
 * Where STARTED processors run when several `sp serve` instances share one state store: every instance
 * keeps a LeaseKeeper per STARTED processor; the holder runs it, the others stand by and take over when
 * the holder's lease expires. A reconcile loop follows the registry, so a start, stop or drop served by
 * any instance reaches the instance that runs the processor.
 */
import type { Logger } from "../runtime/log.ts";
import type { Checkpoint, CheckpointStore } from "../runtime/checkpoint.ts";
import { LeaseKeeper } from "./leases/lease-keeper.ts";
import { FencedWriteError, type Lease, type LeaseStore } from "./leases/lease.ts";

export interface LeaseSettings {
  readonly store: LeaseStore;
  /** This instance's id (host, pid and a random suffix by default). */
  readonly owner: string;
  /** A standby takes over at most this long after the holder dies. */
  readonly ttlMs: number;
}

export interface PlacedProcessor {
  /** The lease's name after `processor/`: the processor's id, or `<id>/task/<n>` for one task of it. */
  readonly id: string;
  readonly key: string;
  /** For a task of a scaled-out processor (docs/scale-out.md): the processor's id and the task's index. */
  readonly recordId?: string;
  readonly task?: number;
}

export interface LeasePlacementOptions extends LeaseSettings {
  readonly logger: Logger;
  /** The processors that should run somewhere (the registry's STARTED ones). */
  wanted(): Promise<PlacedProcessor[]>;
  /** Starts the processor on this instance; its checkpoints must go through `fenced`. */
  runHere(processor: PlacedProcessor, keeper: LeaseKeeper): Promise<void>;
  /** Stops the processor on this instance (lease lost, or no longer wanted). */
  haltHere(processor: PlacedProcessor): Promise<void>;
}

export class LeasePlacement {
  private readonly options: LeasePlacementOptions;
  private readonly keepers = new Map<string, { keeper: LeaseKeeper; processor: PlacedProcessor }>();
  private timer: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> = Promise.resolve();

  constructor(options: LeasePlacementOptions) {
    this.options = options;
  }

  /** Follows the registry every third of the lease TTL. */
  start(): void {
    const every = Math.max(100, Math.floor(this.options.ttlMs / 3));
    this.timer = setInterval(() => void this.reconcile(), every);
    this.timer.unref();
    void this.reconcile();
  }

  /**
   * Competes for a processor's lease (a start served by this instance). Of a scaled-out processor's task
   * leases, an instance holds at most one: while it holds one, it competes for no other (see `onAcquired`).
   */
  want(processor: PlacedProcessor): void {
    if (this.keepers.has(processor.id) || this.holdsAnotherTask(processor)) return;
    const { store, owner, ttlMs, logger } = this.options;
    const keeper: LeaseKeeper = new LeaseKeeper({
      store,
      owner,
      ttlMs,
      resource: `processor/${processor.id}`,
      // Neither callback is awaited by the keeper: starting and halting queue behind the processor's other
      // operations, and one of those (a stop) may be waiting for this keeper.
      onAcquired: (lease) => {
        // Given up meanwhile (another task's lease was taken first): the keeper's stop releases this one.
        if (this.keepers.get(processor.id)?.keeper !== keeper) return;
        logger.info("processor lease acquired", { processor: processor.key, fencingToken: lease.token });
        // One task per instance: stop competing for the others at once, so that a task lease this instance
        // will not run is neither held while it starts this one nor taken from a paused holder, and other
        // instances (one just joining) take them meanwhile. The registry loop competes again once it stops.
        if (processor.recordId !== undefined) void this.giveUpOtherTasks(processor);
        void this.options.runHere(processor, keeper).catch(async (error: unknown) => {
          logger.error("processor could not start on this instance", {
            processor: processor.key,
            error: error instanceof Error ? error.message : String(error),
          });
          await this.unwant(processor.id);
        });
      },
      onLost: (error) => {
        logger.warn("processor lease lost", { processor: processor.key, error: error.message });
        void this.options.haltHere(processor);
      },
      onError: (error) =>
        logger.warn("lease store error", {
          processor: processor.key,
          error: error instanceof Error ? error.message : String(error),
        }),
    });
    this.keepers.set(processor.id, { keeper, processor });
    keeper.start();
  }

  /** Whether this instance holds the lease of another task of `processor`'s processor. */
  private holdsAnotherTask(processor: PlacedProcessor): boolean {
    if (processor.recordId === undefined) return false;
    return [...this.keepers.values()].some(
      (entry) =>
        entry.processor.recordId === processor.recordId &&
        entry.processor.id !== processor.id &&
        entry.keeper.current() !== undefined,
    );
  }

  /** Stops competing for the other tasks of `processor`'s processor, releasing any lease taken meanwhile. */
  private async giveUpOtherTasks(processor: PlacedProcessor): Promise<void> {
    const others = [...this.keepers.values()].flatMap(({ processor: other }) =>
      other.recordId === processor.recordId && other.id !== processor.id ? [other.id] : [],
    );
    await Promise.all(others.map((id) => this.unwant(id)));
  }

  /** Stops competing for a processor (and every task of it) and releases the leases held. */
  async unwantProcessor(recordId: string): Promise<void> {
    const ids = [...this.keepers].flatMap(([id, { processor }]) =>
      id === recordId || processor.recordId === recordId ? [id] : [],
    );
    await Promise.all(ids.map((id) => this.unwant(id)));
  }

  /** Stops competing for a processor and releases its lease if held (stop, drop, failure). */
  async unwant(id: string): Promise<void> {
    const entry = this.keepers.get(id);
    if (!entry) return;
    this.keepers.delete(id);
    await entry.keeper.stop();
  }

  /** The lease while this instance runs the processor. */
  lease(id: string): Lease | undefined {
    return this.keepers.get(id)?.keeper.current();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.reconciling;
    await Promise.all([...this.keepers.keys()].map((id) => this.unwant(id)));
  }

  private reconcile(): Promise<void> {
    this.reconciling = this.reconciling.then(async () => {
      try {
        const wanted = await this.options.wanted();
        const ids = new Set(wanted.map((p) => p.id));
        for (const processor of wanted) this.want(processor);
        for (const [id, entry] of [...this.keepers]) {
          if (ids.has(id)) continue;
          // Halt first: the final checkpoint is written while the lease is still held.
          if (entry.keeper.current() !== undefined) await this.options.haltHere(entry.processor);
          await this.unwant(id);
        }
      } catch (error) {
        this.options.logger.warn("could not read the processor registry", {
          error: error instanceof Error ? error.message : String(error),
        });
      }
    });
    return this.reconciling;
  }
}

/**
 * Checkpoints that are written only while this instance still holds the processor's lease: each save first
 * renews the lease, and `inner` (fenced by the lease's token) refuses the write atomically when a newer
 * holder took over in between (this instance paused past the lease's expiry). A refused save or load gives
 * the lease up, as a lost renewal does, and throws FencedWriteError.
 */
export class FencedCheckpoints implements CheckpointStore {
  private readonly inner: CheckpointStore;
  private readonly keeper: LeaseKeeper;
  private readonly onRefused: ((error: FencedWriteError) => void) | undefined;

  constructor(inner: CheckpointStore, keeper: LeaseKeeper, onRefused?: (error: FencedWriteError) => void) {
    this.inner = inner;
    this.keeper = keeper;
    this.onRefused = onRefused;
  }

  load(): Promise<Checkpoint | undefined> {
    return this.fenced(() => this.inner.load());
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    await this.keeper.confirm();
    await this.fenced(() => this.inner.save(checkpoint));
  }

  private async fenced<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (error instanceof FencedWriteError) {
        this.onRefused?.(error);
        await this.keeper.fencedOut();
      }
      throw error;
    }
  }

  clear(): Promise<void> {
    return this.inner.clear();
  }
}

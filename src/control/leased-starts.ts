/**
 * Starting processors when several instances share the state store: a start marks the processor STARTED and
 * competes for its lease; whichever instance takes the lease runs it. A start served here keeps its plan
 * and options for when this instance is the one that takes the lease.
 */
import { LeasePlacement, type LeasePlacementOptions, type PlacedProcessor } from "./lease-placement.ts";
import type { PreparedProcessor } from "./processor-preparation.ts";
import type { StartOptions } from "./processor-definition.ts";

/** A start request served by this instance. */
export interface PendingStart {
  readonly options: StartOptions;
  readonly prepared: PreparedProcessor;
}

/** Where started processors run is the lease placement's decision: its options, unchanged. */
export type LeasedStartsOptions = LeasePlacementOptions;

export class LeasedStarts {
  private readonly placement: LeasePlacement;
  private readonly pending = new Map<string, PendingStart>();

  constructor(options: LeasedStartsOptions) {
    this.placement = new LeasePlacement(options);
  }

  /** Follows the registry: runs here what this instance holds the lease of. */
  start(): void {
    this.placement.start();
  }

  /** Competes for the lease of a processor whose start this instance served. */
  want(processor: PlacedProcessor, start: PendingStart): void {
    this.pending.set(processor.recordId ?? processor.id, start);
    this.placement.want(processor);
  }

  /** Stops competing for a processor's leases, its tasks' included (stop, drop); its start is no longer pending. */
  async unwant(id: string): Promise<void> {
    this.pending.delete(id);
    await this.placement.unwantProcessor(id);
  }

  /** Gives up one placement (a task lease this instance took while it already runs another task). */
  async release(placementId: string): Promise<void> {
    await this.placement.unwant(placementId);
  }

  /** The start request served here for processor `id`, once. */
  takePending(id: string): PendingStart | undefined {
    const pending = this.pending.get(id);
    this.pending.delete(id);
    return pending;
  }

  async close(): Promise<void> {
    await this.placement.close();
  }
}

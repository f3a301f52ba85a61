/**
 * The cumulative counters of a scaled-out processor's partitions, kept in the shared state store so that its
 * top-level stats are the processor's own, whichever instance answers (docs/scale-out.md, "Stats"). One
 * entry per partition runtime (`partition/<n>`: output, dead letters, and input without a repartition) and,
 * with a repartition, one per source partition its readers read (`source/<topic:n>`: input).
 *
 * Every counter of a partition is a count over a prefix of that partition's log (records are taken in
 * offset order, and a new holder continues from the counts of a checkpoint or an earlier holder), so two
 * figures of one partition are two prefixes: the higher is the longer one, and taking it counts every
 * record once. Each write therefore raises the stored entry (never lowers it), and the processor's total is
 * the sum over partitions. A raise is one atomic step on the store (`StateStore.raiseFields`), so two holders
 * of a partition writing at the same moment (a stale one and its successor, while the partition moves) both
 * count: neither lowers what the other raised.
 */
import { COUNTER_FIELDS, type MessageCountersOutput } from "../../runtime/stats.ts";
import type { StateStore } from "../state-store.ts";

const COLLECTION = "processorCounts";

export type CounterField = (typeof COUNTER_FIELDS)[number];

/** A partition runtime's cumulative counters. */
export type PartitionCounts = { readonly [field in CounterField]: number } & {
  /** True for a repartition topic's partition: its input is the readers' output, not the processor's. */
  readonly repartitioned: boolean;
};

/**
 * What the readers counted of one source partition: its records up to `offset`, and the dead letters of its
 * records up to `dlqOffset` (bad input, stages before the window), each once.
 */
export interface SourceCounts {
  readonly inputMessageCount: number;
  readonly inputMessageSize: number;
  /** The last offset counted; -1 before the first. */
  readonly offset: number;
  readonly dlqMessageCount: number;
  readonly dlqMessageSize: number;
  /** The offset of the last record whose dead letters were counted; -1 before the first. */
  readonly dlqOffset: number;
}

export interface ProcessorCounts {
  readonly partitions: ReadonlyMap<number, PartitionCounts>;
  /** By `topic:partition`. */
  readonly sources: ReadonlyMap<string, SourceCounts>;
}

/** The counters of a partition runtime's stats. */
export function partitionCountsOf(stats: MessageCountersOutput, repartitioned: boolean): PartitionCounts {
  const counts: Partial<Record<CounterField, number>> = {};
  for (const field of COUNTER_FIELDS) counts[field] = stats[field];
  return { ...(counts as Record<CounterField, number>), repartitioned };
}

/** The figure that counted further into the source partition. */
export function furtherSourceCounts(a: SourceCounts, b: SourceCounts): SourceCounts {
  return b.offset > a.offset || (b.offset === a.offset && b.inputMessageCount > a.inputMessageCount) ? b : a;
}

/** Where one task keeps the counts of the partitions it ran and the source partitions its reader read. */
export interface TaskCounts {
  raisePartition(partition: number, counts: PartitionCounts): Promise<void>;
  raiseSource(key: string, counts: SourceCounts): Promise<void>;
  source(key: string): Promise<SourceCounts | undefined>;
}

export class ProcessorCountsStore {
  private readonly store: StateStore;

  constructor(store: StateStore) {
    this.store = store;
  }

  /** Raises partition `partition`'s stored counters to `counts` where these are higher, in one atomic step. */
  async raisePartition(processorId: string, partition: number, counts: PartitionCounts): Promise<void> {
    // Each counter at the higher of the two: the longer prefix of the partition's log.
    const fields: Record<string, number> = {};
    for (const field of COUNTER_FIELDS) fields[field] = counts[field];
    await this.store.raiseFields(COLLECTION, `${processorId}/partition/${partition}`, fields, {
      repartitioned: counts.repartitioned,
    });
  }

  /**
   * Keeps `counts` for source partition `key` unless the stored figure counted further: in one atomic step
   * where the store has fenced writes (the offset is the fence), since two readers may hold the partition
   * for a moment while it moves, and a figure lowered below the committed offsets would stay too low.
   */
  async raiseSource(processorId: string, key: string, counts: SourceCounts): Promise<void> {
    const id = `${processorId}/source/${key}`;
    const fenced = this.store.fenced?.();
    if (fenced) {
      await fenced.put(COLLECTION, id, counts, counts.offset + 1);
      return;
    }
    const stored = await this.store.get<SourceCounts>(COLLECTION, id);
    if (!stored || furtherSourceCounts(stored, counts) !== stored)
      await this.store.put(COLLECTION, id, counts);
  }

  async source(processorId: string, key: string): Promise<SourceCounts | undefined> {
    return this.store.get<SourceCounts>(COLLECTION, `${processorId}/source/${key}`);
  }

  /**
   * The counts of processor `processorId`'s partitions, as one task keeps them: a figure the task kept
   * already is not written again (a quiet partition costs the store nothing), since every raise is atomic
   * and no other write lowers what it raised.
   */
  forTask(processorId: string): TaskCounts {
    const kept = new Map<string, string>();
    const once = async (id: string, figure: object, raise: () => Promise<void>) => {
      const text = JSON.stringify(figure);
      if (kept.get(id) === text) return;
      await raise();
      kept.set(id, text);
    };
    return {
      raisePartition: (partition, counts) =>
        once(`partition/${partition}`, counts, () => this.raisePartition(processorId, partition, counts)),
      raiseSource: (key, counts) =>
        once(`source/${key}`, counts, () => this.raiseSource(processorId, key, counts)),
      source: (key) => this.source(processorId, key),
    };
  }

  async all(processorId: string): Promise<ProcessorCounts> {
    const partitions = new Map<number, PartitionCounts>();
    const sources = new Map<string, SourceCounts>();
    const prefix = `${processorId}/`;
    for (const { id, value } of await this.store.list<PartitionCounts & SourceCounts>(COLLECTION)) {
      if (!id.startsWith(prefix)) continue;
      const rest = id.slice(prefix.length);
      if (rest.startsWith("partition/")) partitions.set(Number(rest.slice("partition/".length)), value);
      else if (rest.startsWith("source/")) sources.set(rest.slice("source/".length), value);
    }
    return { partitions, sources };
  }

  /** Forgets the counts of a dropped processor, or of one starting afresh (its checkpoints cleared). */
  async forget(processorId: string): Promise<void> {
    const prefix = `${processorId}/`;
    for (const { id } of await this.store.list(COLLECTION))
      if (id.startsWith(prefix)) await this.store.delete(COLLECTION, id);
  }
}

/**
 * Counts what a scaled-out processor's reader reads, per source partition, so that the processor's
 * `inputMessageCount`/`inputMessageSize` count every source record once across readers (docs/scale-out.md,
 * "Stats"). The reader has no checkpoint of its own: a reader that takes a source partition over continues
 * from the group's committed offsets, which may be before what the previous reader counted. So each
 * partition's figure is a count of its records up to an offset: a reader taking a partition continues from
 * the figure kept in the store (`load`) and counts only records past its offset; records read again are
 * not counted again.
 */
import type { Doc } from "../../mql/index.ts";
import { safeSize } from "../../runtime/dlq.ts";
import type { Source, SourceBatch } from "../../runtime/source.ts";
import { furtherSourceCounts, type SourceCounts } from "./processor-counts.ts";

type Running = { -readonly [field in keyof SourceCounts]: SourceCounts[field] };

const NOTHING: SourceCounts = {
  inputMessageCount: 0,
  inputMessageSize: 0,
  offset: -1,
  dlqMessageCount: 0,
  dlqMessageSize: 0,
  dlqOffset: -1,
};

export class SourceCounter {
  private readonly load: (partition: string) => Promise<SourceCounts | undefined>;
  private readonly counts = new Map<string, Running>();
  /** The assignment last seen, and the partitions counted here that left it since. */
  private held: readonly (string | number)[] | undefined;
  private readonly released = new Set<string>();

  constructor(load: (partition: string) => Promise<SourceCounts | undefined>) {
    this.load = load;
  }

  /**
   * Counts a batch. A partition given up (no longer in `held`, the source's assignment) and taken again
   * later continues from the figure kept for it then, which its other reader may have raised meanwhile;
   * records of a partition given up that still arrive count on its own figure.
   */
  async count(records: SourceBatch["records"], held?: readonly (string | number)[]): Promise<void> {
    if (held && held !== this.held) this.follow(held);
    let partition: string | undefined;
    let counts: Running | undefined;
    for (const record of records) {
      const offset = (record.meta as Doc | undefined)?.offset;
      if (typeof offset !== "number") continue;
      if (record.partition !== partition) {
        partition = String(record.partition);
        counts = this.counts.get(partition) ?? (await this.taken(partition));
      }
      if (!counts) continue;
      // A gap: the partition may have come back after another reader counted past us (the source resumes a
      // returning partition at the group's committed offset, and what is before it was counted first).
      if (offset > counts.offset + 1) counts = await this.catchUp(partition, counts);
      if (offset <= counts.offset) continue;
      counts.inputMessageCount++;
      counts.inputMessageSize += record.size;
      counts.offset = offset;
    }
  }

  private follow(held: readonly (string | number)[]): void {
    this.held = held;
    for (const partition of this.counts.keys()) if (!held.includes(partition)) this.released.add(partition);
    for (const partition of this.released)
      if (held.includes(partition)) {
        this.released.delete(partition);
        this.counts.delete(partition);
      }
  }

  /**
   * The figure kept for `partition` when it counted further than `counts` (then counting goes on from it),
   * else `counts`. A gap in the offsets is also a transaction marker or a compacted record: the read costs a
   * store round trip and changes nothing.
   */
  private async catchUp(partition: string, counts: Running): Promise<Running> {
    const kept = await this.load(partition).catch(() => undefined);
    if (!kept || furtherSourceCounts(counts, kept) === counts) return counts;
    return this.continueFrom(partition, kept);
  }

  /**
   * Starts counting a partition from the figure kept for it. When the store cannot be read, its records are
   * not counted until it can (counting from zero would keep a figure below the kept one for good).
   */
  private async taken(partition: string): Promise<Running | undefined> {
    const kept = await this.load(partition).then(
      (figure) => figure ?? NOTHING,
      () => undefined,
    );
    return kept && this.continueFrom(partition, kept);
  }

  /** Counts `partition` on from `figure`. */
  private continueFrom(partition: string, figure: SourceCounts): Running {
    const running = { ...NOTHING, ...figure };
    this.counts.set(partition, running);
    return running;
  }

  /**
   * Counts the dead letters the reader wrote (`_stream_meta.source` names their record's partition and
   * offset): those of records past the partition's `dlqOffset` as it was before this call, so a record
   * dead-lettered again after it was read again is not counted again, while several dead letters of one
   * record in one call all count. Returns the dead letters it could not attribute (no partition counted here).
   */
  countDeadLetters(records: readonly Doc[]): { count: number; size: number } {
    const floors = new Map<Running, number>();
    const unattributed = { count: 0, size: 0 };
    for (const record of records) {
      const source = ((record._stream_meta as Doc | undefined)?.source ?? {}) as Doc;
      const { topic, partition, offset } = source;
      const counts = this.counts.get(`${String(topic)}:${String(partition)}`);
      const size = safeSize(record);
      if (typeof offset !== "number" || !counts) {
        unattributed.count++;
        unattributed.size += size;
        continue;
      }
      if (!floors.has(counts)) floors.set(counts, counts.dlqOffset);
      if (offset <= (floors.get(counts) ?? -1)) continue;
      counts.dlqMessageCount++;
      counts.dlqMessageSize += size;
      counts.dlqOffset = Math.max(counts.dlqOffset, offset);
    }
    return unattributed;
  }

  /** Each source partition's figure so far. */
  figures(): Array<[string, SourceCounts]> {
    return [...this.counts].map(([partition, counts]) => [partition, { ...counts }]);
  }
}

/** `source` with every batch it hands over counted by `counter` first. */
export class CountedSource implements Source {
  private readonly source: Source;
  private readonly counter: SourceCounter;
  readonly type: string;
  readonly operatorName: string;
  readonly timestampIsReadTime?: boolean;
  readonly rereadsUnhandledRecords?: boolean;
  readonly acknowledge?: Source["acknowledge"];
  readonly checkpointDue?: Source["checkpointDue"];
  readonly partitions?: Source["partitions"];
  readonly lag?: Source["lag"];

  constructor(source: Source, counter: SourceCounter) {
    this.source = source;
    this.counter = counter;
    this.type = source.type;
    this.operatorName = source.operatorName;
    if (source.timestampIsReadTime !== undefined) this.timestampIsReadTime = source.timestampIsReadTime;
    if (source.rereadsUnhandledRecords !== undefined)
      this.rereadsUnhandledRecords = source.rereadsUnhandledRecords;
    if (source.acknowledge) this.acknowledge = source.acknowledge.bind(source);
    if (source.checkpointDue) this.checkpointDue = source.checkpointDue.bind(source);
    if (source.partitions) this.partitions = source.partitions.bind(source);
    if (source.lag) this.lag = source.lag.bind(source);
  }

  start(): Promise<void> {
    return this.source.start();
  }

  async next(): Promise<SourceBatch | undefined> {
    const batch = await this.source.next();
    if (batch && batch.records.length > 0) await this.counter.count(batch.records, this.partitions?.());
    return batch;
  }

  positions(): Doc {
    return this.source.positions();
  }

  close(): Promise<void> {
    return this.source.close();
  }
}

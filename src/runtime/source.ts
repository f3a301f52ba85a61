import type { Doc } from "../mql/index.ts";

/**
 * What a source connector implements. The runtime pulls batches (`next`) and never asks for more than a
 * bounded number ahead of what it has processed, so a source that reads only when asked gets back-pressure
 * for free.
 */
export interface Source {
  /** `_stream_meta.source.type`: `generated`, `kafka`, `atlas`, `file`… */
  readonly type: string;
  /** ASP operator class name used in DLQ records and stats, e.g. `DocumentsDataSourceOperator`. */
  readonly operatorName: string;
  /**
   * True when `SourceRecord.timestamp` is the time the record was read (a file, generated documents): a
   * replay gives other timestamps, so derived `_id`s must not depend on them.
   */
  readonly timestampIsReadTime?: boolean;
  /**
   * True when records read but not yet handed over are read again by a run that starts from the last
   * checkpoint (a change stream's resume token, Kafka offsets). A stop then does not wait for a read in
   * flight on a quiet source; for other sources (stdin) the read is waited for and handled, since what it
   * returns could not be read again.
   */
  readonly rereadsUnhandledRecords?: boolean;
  /** Opens connections / evaluates inline documents. Throws (the processor fails) on a broken configuration. */
  start(): Promise<void>;
  /**
   * The next batch. A batch with no records and `idle: true` means nothing arrived for a while (sources must
   * return one within about a second when they have nothing, so idle timers can run). `undefined` means the
   * source is finite and has drained.
   */
  next(): Promise<SourceBatch | undefined>;
  /**
   * Source positions for a checkpoint (Kafka offsets, resume token, line number…): where to start again so
   * that nothing handed over after the last batch is missed. The runtime calls it right after each `next()`
   * resolved, so it must describe exactly the records handed over so far (not anything read ahead
   * internally), and return a new object each time.
   */
  positions(): Doc;
  /**
   * Called after a checkpoint holding `positions` was saved: every record up to there has been written to
   * the sink and DLQ and will never be needed again (Kafka commits these offsets to the consumer group).
   * Never called with positions whose results are not written.
   */
  acknowledge?(positions: Doc): Promise<void>;
  /**
   * True when the source asks for a checkpoint before the interval is up: it keeps what it handed over
   * until a checkpoint acknowledges it (a stream's lines, for a restart to read again), and that has grown
   * past its bound. The runtime asks after every batch; memory then stays bounded however fast the input.
   */
  checkpointDue?(): boolean;
  /**
   * The partitions (as in {@link SourceRecord.partition}) the source reads right now, for sources that know
   * them before they deliver (Kafka's assigned partitions): each holds the watermark back until it delivers
   * or is idle. The runtime asks before every batch; return the same array while nothing changed.
   */
  partitions?(): readonly (string | number)[];
  /**
   * How far behind the source is and whether it reaches its server, merged into the processor's stats
   * under ASP's field names. Must be cheap: it is called on every stats request (refresh on a timer).
   */
  lag?(): SourceLag;
  close(): Promise<void>;
}

/** One Kafka partition in `kafkaPartitions[]` (ASP's stats fields). */
export interface KafkaPartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** Next offset to read (the last processed + 1); -1 before the partition's start is known. */
  readonly currentOffset: number;
  /** Next offset in the last checkpoint committed to the consumer group; -1 before the first. */
  readonly checkpointOffset: number;
  /** True when nothing is waiting in the partition (no lag). */
  readonly isIdle: boolean;
  /** Log end offset − currentOffset; absent until the log end was read once. */
  readonly partitionOffsetLag?: number;
}

/** Whether the source reaches its server right now (for `/health` and `/ready`). */
export interface SourceReachability {
  readonly reachable: boolean;
  readonly lastError?: string;
  /** Epoch ms since when `reachable` has had its current value. */
  readonly since: number;
}

/** ASP's source lag fields (docs/asp-semantics.md §7.1), each only for the sources that have it. */
export interface SourceLag {
  readonly kafkaPartitions?: readonly KafkaPartitionLag[];
  readonly kafkaTotalOffsetLag?: number;
  readonly kafkaConsumerGroup?: string;
  /** Seconds between the newest cluster time seen and the last processed event's cluster time. */
  readonly changeStreamTimeDifferenceSecs?: number;
  /** Eddy extension. */
  readonly sourceStatus?: SourceReachability;
}

export interface SourceBatch {
  /**
   * Handed over to the runtime, which empties the array once it has read the records: an array that lived
   * through a scavenge sits in the old generation, and until the next full collection it would keep every
   * record, document and message it points at alive through each scavenge (copied, then promoted), long
   * after the batch was written. A source must not use the array again.
   */
  readonly records: SourceRecord[];
  /** True when the source had nothing to hand over (records is empty). */
  readonly idle?: boolean;
  /** Partitions the source considers idle right now (e.g. Kafka partitions without data). */
  readonly idlePartitions?: readonly (string | number)[];
  /**
   * A watermark the source declares (epoch ms): the combined watermark moves at least to it, closing the
   * windows that end before it. `sp test`'s driver uses it for watermark advances; connectors leave it unset.
   */
  readonly watermark?: number;
}

/** One message as the source read it. */
export interface SourceRecord {
  /** The parsed document; undefined when `error` is set. */
  readonly doc: Doc | undefined;
  /** Partition the record came from; watermarks are kept per partition. */
  readonly partition: string | number;
  /** The source's own timestamp for the record (epoch ms): Kafka timestamp, clusterTime, read time… */
  readonly timestamp: number;
  /**
   * Extra `_stream_meta.source` fields (`topic`, `partition`, `offset`, `key`, …). The runtime adds `type`
   * in front, unless the object already starts with the source's `type`: then, being fresh per record, it
   * is used as it is.
   */
  readonly meta: Doc | undefined;
  /** Size in bytes as received (counted in `inputMessageSize`). */
  readonly size: number;
  /** Set when the message could not be turned into a document: it goes to the DLQ with `raw` as `doc`. */
  readonly error?: { readonly message: string; readonly raw: unknown };
}

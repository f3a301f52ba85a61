/**
 * Sends `$emit`'s batches as Produce requests encoded by Eddy (produce-request.ts) over the connections
 * of a `@platformatic/kafka` Producer, which keeps doing what it does well: metadata, connections, TLS and
 * SASL, response parsing. Partitioning is the client's own (a key's murmur2 hash, round-robin without
 * a key), so records land where `producer.send` would put them.
 *
 * Used when the brokers speak Produce v9 (Kafka 2.4 and later) and the output is not compressed; otherwise,
 * and for transactions, the sink calls `producer.send` as before. A failed request clears the cached
 * metadata so that the sink's retry looks the leaders up again (a leader moved, a topic was just created).
 */
import {
  murmur2,
  produceV9,
  Writer,
  type Broker,
  type ClusterMetadata,
  type Producer,
} from "@platformatic/kafka";
import {
  encodeProduceRequest,
  PRODUCE_API_KEY,
  PRODUCE_VERSION,
  recordSize,
  type ProduceRecord,
  type ProduceRequest,
} from "./produce-request.ts";

/**
 * Kafka's default bound on a request (the Java producer's `max.request.size`) and, near enough, on a record
 * batch (the broker's `message.max.bytes`, 1 MiB + 12 bytes): a larger batch would be refused whole.
 */
const MAX_REQUEST_BYTES = 1024 * 1024;
/** The largest record sent: what is left of a request after its own, the topic's and the batch's headers. */
const MAX_RECORD_BYTES = MAX_REQUEST_BYTES - 16 * 1024;

/** Throws when `record` alone is over what one request may carry (its document goes to the DLQ). */
export function assertRecordFits(record: ProduceRecord): void {
  const size = recordSize(record);
  if (size > MAX_RECORD_BYTES) {
    throw new Error(
      `the record is ${size} bytes, more than a Kafka request of 1 MiB (max.request.size) can carry: ` +
        "make the document smaller, e.g. $project or $unset fields before $emit",
    );
  }
}

/** Splits `records` into runs whose encoded size stays under {@link MAX_REQUEST_BYTES}. */
function requestChunks(records: readonly OutgoingRecord[]): OutgoingRecord[][] {
  const chunks: OutgoingRecord[][] = [];
  let chunk: OutgoingRecord[] = [];
  let size = 0;
  for (const record of records) {
    const bytes = recordSize(record);
    if (chunk.length > 0 && size + bytes > MAX_RECORD_BYTES) {
      chunks.push(chunk);
      chunk = [];
      size = 0;
    }
    chunk.push(record);
    size += bytes;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

export interface OutgoingRecord extends ProduceRecord {
  readonly topic: string;
  /** Where it goes; default: the key's murmur2 hash, round-robin without a key. */
  readonly partition?: number;
}

type KafkaProducer = Producer<Buffer, Buffer, Buffer, Buffer>;

/** Raised while a topic has no partition leaders yet (just auto-created): retryable. */
export class LeaderNotAvailableError extends Error {
  override readonly name = "LeaderNotAvailableError";
  readonly canRetry = true;
}

export class DirectProducer {
  private readonly producer: KafkaProducer;
  private readonly acks: number;
  private readonly timeoutMs: number;
  private readonly autocreateTopics: boolean;
  private readonly roundRobin = new Map<string, number>();
  private supported: Promise<boolean> | undefined;
  private lastRequestSize = 64 * 1024;

  constructor(
    producer: KafkaProducer,
    options: { acks: number; timeoutMs?: number; autocreateTopics?: boolean },
  ) {
    this.producer = producer;
    this.acks = options.acks;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.autocreateTopics = options.autocreateTopics ?? true;
  }

  /** Whether the brokers accept Produce v9 (asked once; a failed lookup is asked again next time). */
  available(): Promise<boolean> {
    this.supported ??= this.producer.listApis().then(
      (apis) => {
        const produce = apis.find((api) => api.apiKey === PRODUCE_API_KEY);
        return (
          produce !== undefined &&
          produce.minVersion <= PRODUCE_VERSION &&
          PRODUCE_VERSION <= produce.maxVersion
        );
      },
      (error: unknown) => {
        this.supported = undefined;
        throw error;
      },
    );
    return this.supported;
  }

  /**
   * Produces `records` (in order per partition); resolves once every leader acknowledged its part. Records
   * go in requests of at most {@link MAX_REQUEST_BYTES}, one after the other.
   */
  async send(records: readonly OutgoingRecord[]): Promise<void> {
    for (const chunk of requestChunks(records)) await this.sendChunk(chunk);
  }

  private async sendChunk(records: readonly OutgoingRecord[]): Promise<void> {
    try {
      const topics = [...new Set(records.map((r) => r.topic))];
      const metadata = await this.producer.metadata({ topics, autocreateTopics: this.autocreateTopics });
      const timestamp = Date.now();
      await Promise.all(
        [...this.requestsByLeader(records, metadata)].map(([leader, byTopic]) =>
          this.sendTo(leader, {
            acks: this.acks,
            timeoutMs: this.timeoutMs,
            timestamp,
            topics: [...byTopic].map(([topic, byPartition]) => ({
              topic,
              partitions: [...byPartition].map(([partition, list]) => ({ partition, records: list })),
            })),
          }),
        ),
      );
    } catch (error) {
      // Whatever failed (no leader yet, a moved leader, a lost broker), the retry looks leaders up again.
      this.producer.clearMetadata();
      throw error;
    }
  }

  /** Leader broker → topic → partition → records, in input order. */
  private requestsByLeader(records: readonly OutgoingRecord[], metadata: ClusterMetadata) {
    const byLeader = new Map<Broker, Map<string, Map<number, ProduceRecord[]>>>();
    for (const record of records) {
      const topic = metadata.topics.get(record.topic);
      if (!topic || topic.partitionsCount === 0) {
        throw new LeaderNotAvailableError(`topic '${record.topic}' has no partitions yet`);
      }
      const partition = this.partitionFor(record, topic.partitionsCount);
      const leader = metadata.brokers.get(topic.partitions[partition]?.leader ?? -1);
      if (!leader) {
        throw new LeaderNotAvailableError(`partition ${record.topic}:${partition} has no leader yet`);
      }
      let byTopic = byLeader.get(leader);
      if (!byTopic) byLeader.set(leader, (byTopic = new Map()));
      let byPartition = byTopic.get(record.topic);
      if (!byPartition) byTopic.set(record.topic, (byPartition = new Map()));
      let list = byPartition.get(partition);
      if (!list) byPartition.set(partition, (list = []));
      list.push(record);
    }
    return byLeader;
  }

  /** The record's own partition, else as `@platformatic/kafka`'s default partitioner: murmur2 of the key, else round-robin per topic. */
  private partitionFor(record: OutgoingRecord, partitions: number): number {
    if (record.partition !== undefined) return record.partition;
    if (record.key) {
      const key = Buffer.isBuffer(record.key) ? record.key : Buffer.from(record.key);
      return (murmur2(key) >>> 0) % partitions;
    }
    const next = this.roundRobin.get(record.topic) ?? 0;
    this.roundRobin.set(record.topic, next + 1);
    return next % partitions;
  }

  private async sendTo(leader: Broker, request: ProduceRequest): Promise<void> {
    const connection = await this.producer.connections.get(leader);
    const body = encodeProduceRequest(request, this.lastRequestSize);
    this.lastRequestSize = Math.max(1024, body.length + 1024);
    const writer = Writer.create().append(body);
    if (this.acks === 0) writer.context.noResponse = true;
    await new Promise<void>((resolve, reject) => {
      connection.send(
        PRODUCE_API_KEY,
        PRODUCE_VERSION,
        () => writer,
        produceV9.parseResponse,
        true,
        true,
        (error) => (error ? reject(error) : resolve()),
      );
    });
  }
}

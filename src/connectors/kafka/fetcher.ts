/**
 * The Kafka source's fetch loop: Fetch requests encoded and responses decoded by Eddy (fetch-request.ts,
 * record-batch.ts) straight into the records the source hands over, instead of `@platformatic/kafka`'s
 * MessagesStream, which builds a message object per record (a header map, metadata, a commit closure,
 * diagnostics context) that the source then turned into its own record.
 *
 * It serves the `$source` (source.ts) and the per-partition feeds of a scaled-out processor's tasks
 * (partition-feed.ts), which fetch only the assigned partitions whose runtimes run ({@link FetcherOptions.fetches}).
 *
 * Everything else stays on the client's Consumer: the group membership (join, heartbeats, rebalances,
 * assignment), metadata (partition leaders), committed and listed offsets, commits. Fetches go over a
 * connection pool of their own, as MessagesStream's do, so a long-polling fetch never delays a heartbeat.
 *
 * Positions: each time the group assigns a partition (again), the owner picks where it starts from the
 * group's committed offset ({@link FetcherOptions.startAt}), else it starts at the fallback (earliest or
 * latest); it keeps its position while it stays assigned, and an out-of-range position restarts at the
 * fallback.
 * One request per partition leader per round; the next round is sent as soon as a round is decoded
 * unless the source paused the fetcher (it holds enough records).
 */
import {
  ConnectionPool,
  ProtocolError,
  Writer,
  type Broker,
  type Consumer,
  type Reader,
} from "@platformatic/kafka";
import { setTimeout as sleep } from "node:timers/promises";
import { ConnectorError } from "../../runtime/errors.ts";
import type { KafkaClientOptions } from "./connection.ts";
import {
  decodeFetchResponse,
  encodeFetchRequest,
  FETCH_API_KEY,
  FETCH_VERSION,
  READ_COMMITTED,
  type FetchDestination,
  type FetchPartition,
  type FetchResponse,
} from "./fetch-request.ts";
import type { FetchedRecordVisitor } from "./record-batch.ts";
import { splitPartitionKey } from "./record.ts";
import { sleepUntilWoken } from "./wake-up.ts";

type KafkaConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>;

export interface FetcherOptions {
  readonly topics: readonly string[];
  /**
   * Where `topic:partition` starts, given the group's committed offset for it (undefined: none); undefined
   * starts it at the fallback. Asked each time a partition is (again) to be fetched, so it may answer from
   * live state.
   */
  readonly startAt: (key: string, committed: bigint | undefined) => bigint | undefined;
  readonly fallback: "earliest" | "latest";
  readonly maxWaitMs: number;
  readonly bytesPerPartition: number;
  /** Bound on a whole response (the Java consumer's `fetch.max.bytes`, 50 MiB). */
  readonly maxBytes?: number;
  /** Read_committed (the default) skips aborted transactions and waits for open ones. */
  readonly readCommitted?: boolean;
  /** Which assigned partitions to fetch (default: all); after a change, call {@link Fetcher.reassigned}. */
  readonly fetches?: (topic: string, partition: number) => boolean;
}

/** Where fetched records go. */
export interface FetcherSink {
  /** The visitor for `topic:partition`'s records of one response. */
  visitor(topic: string, partition: number): FetchedRecordVisitor;
  /** A response was decoded (records may have been delivered). */
  fetched(): void;
  /** Partitions were assigned positions (before anything of theirs is fetched). */
  positioned(positions: ReadonlyMap<string, bigint>): void;
  /** Partitions are no longer fetched (the group took them away, or `fetches` left them out). */
  revoked?(keys: readonly string[]): void;
  /** The loop stopped on an error; the fetcher must be closed and replaced. */
  failed(error: Error): void;
}

/** Partition errors that heal once the metadata is read again (leader moves, elections, a new topic). */
const STALE_METADATA_ERRORS = new Set([3, 5, 6, 9, 56, 74, 75, 78]);
const OFFSET_OUT_OF_RANGE = 1;
const EARLIEST_TIMESTAMP = -2n;
const LATEST_TIMESTAMP = -1n;

export class Fetcher {
  private readonly consumer: KafkaConsumer;
  private readonly options: FetcherOptions;
  private readonly sink: FetcherSink;
  private readonly pool: ConnectionPool;
  /** Next offset to fetch per assigned `topic:partition`. */
  private readonly positions = new Map<string, number>();
  private assignmentChanged = true;
  private paused = false;
  private wake: (() => void) | undefined;
  private closed = false;
  private loop: Promise<void> | undefined;
  private readonly onJoin = () => this.reassigned();

  constructor(
    consumer: KafkaConsumer,
    client: KafkaClientOptions,
    options: FetcherOptions,
    sink: FetcherSink,
  ) {
    this.consumer = consumer;
    this.options = options;
    this.sink = sink;
    this.pool = new ConnectionPool(`${client.clientId}-fetch`, { ...client });
  }

  /**
   * Joins the group if need be, positions the assigned partitions, then fetches in the background. A fetcher
   * that fails to start is closed (waiting at most {@link CLOSE_TIMEOUT_MS}): it holds nothing.
   */
  async start(): Promise<void> {
    try {
      await this.checkFetchVersion();
      // Tracked for the consumer's lifetime: reopening a fetcher must not leave and rejoin the group.
      const added = this.consumer.topics.trackAll(...this.options.topics).some(Boolean);
      if (added || this.consumer.memberId === null) await this.consumer.joinGroup({});
      this.consumer.on("consumer:group:join", this.onJoin);
      // A cooperative rebalance's revoking round sets the smaller assignment and says so with this event (no
      // join): revoked partitions stop being fetched at once, before their new holder starts on them.
      this.consumer.on("consumer:group:rebalance", this.onJoin);
      await this.refreshAssignment();
    } catch (error) {
      await withTimeout(this.close(), CLOSE_TIMEOUT_MS);
      throw error;
    }
    this.loop = this.run().catch((error: unknown) => {
      if (!this.closed) this.sink.failed(error as Error);
    });
  }

  /** The brokers must accept the Fetch version Eddy speaks (Kafka 2.3 and later do). */
  private async checkFetchVersion(): Promise<void> {
    const fetch = (await this.consumer.listApis()).find((api) => api.apiKey === FETCH_API_KEY);
    if (fetch && fetch.minVersion <= FETCH_VERSION && FETCH_VERSION <= fetch.maxVersion) return;
    const range = fetch ? `${fetch.minVersion}–${fetch.maxVersion}` : "none";
    throw new ConnectorError(
      `the Kafka brokers do not accept Fetch v${FETCH_VERSION} (they accept ${range}): ` +
        "Eddy's Kafka source needs Kafka 2.3 or later",
      { retryable: false },
    );
  }

  /** The partitions to fetch changed (the group's assignment, or `fetches`): looked at again before the next round. */
  reassigned(): void {
    this.assignmentChanged = true;
    this.wake?.();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.wake?.();
  }

  isPaused(): boolean {
    return this.paused;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.consumer.off("consumer:group:join", this.onJoin);
    this.consumer.off("consumer:group:rebalance", this.onJoin);
    this.wake?.();
    await this.loop;
    await this.pool.close();
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      if (this.assignmentChanged) await this.refreshAssignment();
      if (this.paused) {
        await this.waitForWake(60_000);
        continue;
      }
      if (this.positions.size === 0) {
        // Nothing assigned (yet): look again shortly, in case the assignment arrived without a join event.
        await this.waitForWake(200);
        this.assignmentChanged = true;
        continue;
      }
      await this.fetchRound();
    }
  }

  private async waitForWake(ms: number): Promise<void> {
    await sleepUntilWoken(ms, (wake) => (this.wake = wake));
    this.wake = undefined;
  }

  /** Keeps the positions of partitions still assigned, drops the others, positions the new ones. */
  private async refreshAssignment(): Promise<void> {
    this.assignmentChanged = false;
    const assigned = new Set<string>();
    const fetches = this.options.fetches;
    for (const { topic, partitions } of this.consumer.assignments ?? []) {
      if (!this.options.topics.includes(topic)) continue;
      for (const partition of partitions)
        if (!fetches || fetches(topic, partition)) assigned.add(`${topic}:${partition}`);
    }
    const revoked = [...this.positions.keys()].filter((key) => !assigned.has(key));
    for (const key of revoked) this.positions.delete(key);
    if (revoked.length > 0) this.sink.revoked?.(revoked);
    const fresh = [...assigned].filter((key) => !this.positions.has(key));
    if (fresh.length === 0) return;
    const committed = await this.consumer.listCommittedOffsets({ topics: byTopic(fresh) });
    const resolved = new Map<string, bigint>();
    const unresolved: string[] = [];
    for (const key of fresh) {
      const [topic, partition] = splitPartitionKey(key);
      const offset = committed.get(topic)?.[partition];
      const start = this.options.startAt(key, offset !== undefined && offset >= 0n ? offset : undefined);
      if (start !== undefined) resolved.set(key, start);
      else unresolved.push(key);
    }
    if (unresolved.length > 0) {
      for (const [key, offset] of await this.fallbackOffsets(unresolved)) resolved.set(key, offset);
    }
    for (const [key, offset] of resolved) this.positions.set(key, Number(offset));
    this.sink.positioned(resolved);
  }

  /** The fallback position (the log start or end) of each of `keys`. */
  private async fallbackOffsets(keys: readonly string[]): Promise<Map<string, bigint>> {
    const partitions = Object.fromEntries(byTopic(keys).map(({ topic, partitions }) => [topic, partitions]));
    const listed = await this.consumer.listOffsets({
      topics: Object.keys(partitions),
      partitions,
      timestamp: this.options.fallback === "earliest" ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP,
    });
    const offsets = new Map<string, bigint>();
    for (const key of keys) {
      const [topic, partition] = splitPartitionKey(key);
      const offset = listed.get(topic)?.[partition];
      if (offset === undefined || offset < 0n)
        throw new Error(`no ${this.options.fallback} offset for ${key}`);
      offsets.set(key, offset);
    }
    return offsets;
  }

  /** One Fetch request to each leader of the assigned partitions, decoded into the sink. */
  private async fetchRound(): Promise<void> {
    const topics = [...this.options.topics];
    const metadata = await this.consumer.metadata({ topics });
    const byLeader = new Map<number, Map<string, FetchPartition[]>>();
    for (const [key, offset] of this.positions) {
      const [topic, partition] = splitPartitionKey(key);
      const leader = metadata.topics.get(topic)?.partitions[partition]?.leader ?? -1;
      let leaderTopics = byLeader.get(leader);
      if (!leaderTopics) byLeader.set(leader, (leaderTopics = new Map()));
      let list = leaderTopics.get(topic);
      if (!list) leaderTopics.set(topic, (list = []));
      list.push({ partition, fetchOffset: BigInt(offset), maxBytes: this.options.bytesPerPartition });
    }
    let stale = false;
    await Promise.all(
      [...byLeader].map(async ([leader, leaderTopics]) => {
        const broker = metadata.brokers.get(leader);
        if (!broker) {
          stale = true;
          return;
        }
        const response = await this.fetchFrom(broker, leaderTopics);
        if (response && (await this.settle(response))) stale = true;
      }),
    );
    if (stale && !this.closed) {
      this.consumer.clearMetadata();
      await sleep(100);
    }
  }

  private async fetchFrom(
    broker: Broker,
    topics: ReadonlyMap<string, FetchPartition[]>,
  ): Promise<FetchResponse | undefined> {
    const connection = await this.pool.get(broker);
    const writer = Writer.create().append(
      encodeFetchRequest({
        maxWaitMs: this.options.maxWaitMs,
        minBytes: 1,
        maxBytes: this.options.maxBytes ?? 50 * 1024 * 1024,
        isolationLevel: this.isolationLevel(),
        topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
      }),
    );
    const body = await new Promise<Buffer>((resolve, reject) => {
      connection.send(
        FETCH_API_KEY,
        FETCH_VERSION,
        () => writer,
        responseBytes,
        false,
        false,
        (error, bytes) => (error ? reject(error) : resolve(bytes as Buffer)),
      );
    });
    if (this.closed) return undefined;
    const response = decodeFetchResponse(body, this.destination, this.isolationLevel());
    this.sink.fetched();
    return response;
  }

  private isolationLevel(): 0 | 1 {
    return this.options.readCommitted === false ? 0 : READ_COMMITTED;
  }

  /** Records each partition's next position; true when the metadata must be read again. */
  private async settle(response: FetchResponse): Promise<boolean> {
    if (response.errorCode !== 0) throw new ProtocolError(response.errorCode);
    let stale = false;
    const outOfRange: string[] = [];
    for (const { topic, partition, errorCode, nextOffset } of response.partitions) {
      const key = `${topic}:${partition}`;
      if (!this.positions.has(key)) continue; // revoked meanwhile
      if (errorCode === 0) {
        if (nextOffset >= 0) this.positions.set(key, nextOffset);
      } else if (errorCode === OFFSET_OUT_OF_RANGE) outOfRange.push(key);
      else if (STALE_METADATA_ERRORS.has(errorCode)) stale = true;
      else throw new ProtocolError(errorCode);
    }
    if (outOfRange.length > 0) {
      const reset = await this.fallbackOffsets(outOfRange);
      for (const [key, offset] of reset) this.positions.set(key, Number(offset));
      this.sink.positioned(reset);
    }
    return stale;
  }

  private readonly destination: FetchDestination = {
    fetchOffset: (topic, partition) => this.positions.get(`${topic}:${partition}`) ?? 0,
    visitor: (topic, partition) => this.sink.visitor(topic, partition),
  };
}

/** How long closing a client may take when its broker is gone. */
export const CLOSE_TIMEOUT_MS = 3_000;

/** Waits for `promise` at most `ms`, ignoring its failure (closing clients whose broker is gone). */
export async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  const ac = new AbortController();
  await Promise.race([
    promise.catch(() => undefined),
    sleep(ms, undefined, { signal: ac.signal }).catch(() => undefined),
  ]);
  ac.abort();
}

/** The response body as one contiguous buffer (the connection may hold it in several socket chunks). */
function responseBytes(_correlationId: number, _apiKey: number, _apiVersion: number, reader: Reader): Buffer {
  return reader.buffer.slice(reader.position);
}

function byTopic(keys: readonly string[]): Array<{ topic: string; partitions: number[] }> {
  const topics = new Map<string, number[]>();
  for (const key of keys) {
    const [topic, partition] = splitPartitionKey(key);
    let list = topics.get(topic);
    if (!list) topics.set(topic, (list = []));
    list.push(partition);
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
}

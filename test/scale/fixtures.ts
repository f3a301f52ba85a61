/**
 * What the scale-out tests (test/scale/*.test.ts) and `bench:scale` share: the topic layout, the tumbling-window
 * processor they scale, its two connections, and `sp serve` instances on one MongoDB state store. Free of
 * vitest, so the benchmark imports it too: the tests pass their services' endpoints, the benchmark its own.
 */
import type { ChildProcess } from "node:child_process";
import { Admin } from "@platformatic/kafka";
import { MongoClient } from "mongodb";
import { kafkaClientOptions, type KafkaClientOptions } from "../../src/connectors/kafka/connection.ts";
import type { KafkaSourcePlan } from "../../src/connectors/kafka/source.ts";
import { serveSharedStore, type SharedServe } from "../support/sp-serve.ts";

/** Partitions of the scaled topics (and so of their repartition topics). */
export const PARTITIONS = 6;
/** Event time zero of the scaled inputs: windows are numbered in seconds from it (window-totals.ts). */
export const BASE = Date.UTC(2026, 0, 1);
/** The API token of the `sp serve` instances. */
export const SCALE_TOKEN = "scale-test-token-0123456789";

/** A sensor reading of the scaled inputs, with the source partition it is produced to. */
export interface SensorEvent {
  readonly sensor: number;
  readonly ts: number;
  readonly value: number;
  readonly partition: number;
}

/**
 * Event seconds [from, to) of `sensors` sensors: every sensor every 100 ms; sensor s at step t goes to
 * partition (t + s) % PARTITIONS.
 */
export function sensorEvents(sensors: number, from: number, to: number): SensorEvent[] {
  const out: SensorEvent[] = [];
  for (let t = from * 10; t < to * 10; t++)
    for (let sensor = 0; sensor < sensors; sensor++)
      out.push({ sensor, ts: BASE + t * 100, value: t % 97, partition: (t + sensor) % PARTITIONS });
  return out;
}

/** One far-future event per sensor on every partition: it closes every earlier window everywhere. */
export function windowClosers(sensors: number): SensorEvent[] {
  const out: SensorEvent[] = [];
  for (let partition = 0; partition < PARTITIONS; partition++)
    for (let sensor = 0; sensor < sensors; sensor++)
      out.push({ sensor, ts: BASE + 3_600_000, value: 0, partition });
  return out;
}

/** Where the broker and the MongoDB server are. */
export interface ScaleEndpoints {
  readonly kafkaBrokers: readonly string[];
  readonly mongodbUri: string;
}

export function kafkaClient(endpoints: ScaleEndpoints, clientId: string): KafkaClientOptions {
  return kafkaClientOptions({ bootstrapServers: endpoints.kafkaBrokers.join(",") }, clientId);
}

export async function createTopic(
  endpoints: ScaleEndpoints,
  topic: string,
  partitions: number,
): Promise<void> {
  const admin = new Admin(kafkaClient(endpoints, "eddy-scale-fixtures"));
  try {
    await admin.createTopics({ topics: [topic], partitions, replicas: 1 });
  } finally {
    await admin.close();
  }
}

/** Deletes `topics` (the missing ones are no error). */
export async function deleteTopics(endpoints: ScaleEndpoints, topics: readonly string[]): Promise<void> {
  const admin = new Admin(kafkaClient(endpoints, "eddy-scale-fixtures"));
  await admin.deleteTopics({ topics: [...topics] }).catch(() => undefined);
  await admin.close();
}

/**
 * The `kafka` and `atlas` connections, as `POST …/connections` bodies. The consumer groups' session timeout is
 * the broker's minimum (6 s, heartbeats every second): a killed instance's members leave its groups soon,
 * which is when their partitions move (docs/scale-out.md, "Joining").
 */
export function scaleConnections(endpoints: ScaleEndpoints): Array<Record<string, unknown>> {
  return [
    {
      name: "kafka",
      type: "Kafka",
      config: {
        bootstrapServers: endpoints.kafkaBrokers.join(","),
        config: { "session.timeout.ms": 6_000, "heartbeat.interval.ms": 1_000 },
      },
    },
    { name: "atlas", type: "Cluster", config: { uri: endpoints.mongodbUri } },
  ];
}

/** The planned `$source` of a scaled processor's reader on `topic` (JSON values, string keys, no `group_id`). */
export function readerSourcePlan(topic: string): KafkaSourcePlan {
  return {
    type: "kafka",
    connectionName: "kafka",
    options: {
      topics: [topic],
      config: {
        auto_offset_reset: "earliest",
        group_id: undefined,
        enable_auto_commit: false,
        keyFormat: "string",
        keyFormatError: "dlq",
      },
    },
    timeField: undefined,
    tsFieldName: "_ts",
    partitionIdleTimeoutMs: undefined,
  };
}

export interface WindowPipelineOptions {
  readonly topic: string;
  /** The window's `$group` `_id` (`"$sensor"`, `"$_stream_meta.source.key"`). */
  readonly groupBy: string;
  /** The name of the group key in each output's `_id`. */
  readonly keyField: string;
  readonly outDb: string;
  readonly coll: string;
  /** The `$source`'s `group_id` (default: none, so `asp-<processor>-consumer`). */
  readonly groupId?: string;
  /** The window's size (default 1 s). */
  readonly seconds?: number;
}

/**
 * The scaled processor: a tumbling window over `topic` (event time `ts`) counting and totalling `value` per
 * `groupBy`, each window merged as `{_id: {[keyField], start}, count, total}` (what window-totals.ts reads).
 */
export function windowPipeline(options: WindowPipelineOptions): unknown[] {
  const { topic, groupBy, keyField, outDb, coll, groupId, seconds = 1 } = options;
  return [
    {
      $source: {
        connectionName: "kafka",
        topic,
        timeField: { $toDate: "$ts" },
        config: { auto_offset_reset: "earliest", ...(groupId !== undefined ? { group_id: groupId } : {}) },
      },
    },
    {
      $tumblingWindow: {
        interval: { size: seconds, unit: "second" },
        pipeline: [{ $group: { _id: groupBy, count: { $sum: 1 }, total: { $sum: "$value" } } }],
      },
    },
    { $addFields: { _id: { [keyField]: "$_id", start: { $meta: "stream.window.start" } } } },
    { $merge: { into: { connectionName: "atlas", db: outDb, coll } } },
  ];
}

export interface SharedStoreServers {
  readonly mongodbUri: string;
  /** The state store's database. */
  readonly stateDb: string;
  readonly leaseTtlMs: number;
  /** Default: the server's (5 s). */
  readonly checkpointIntervalMs?: number;
  /** Where the spawned processes are kept, to be killed at the end. */
  readonly children: ChildProcess[];
}

/** Starts `sp serve` instances named `name` on one MongoDB state store. */
export function sharedStoreServers(options: SharedStoreServers): (name: string) => Promise<SharedServe> {
  const stateUri = new URL(options.mongodbUri);
  stateUri.pathname = `/${options.stateDb}`;
  return (name) =>
    serveSharedStore(name, {
      stateUri: stateUri.toString(),
      token: SCALE_TOKEN,
      leaseTtlMs: options.leaseTtlMs,
      ...(options.checkpointIntervalMs !== undefined
        ? { checkpointIntervalMs: options.checkpointIntervalMs }
        : {}),
      children: options.children,
    });
}

export interface SharedStoreBedOptions {
  /** The topic the processors read, created with {@link PARTITIONS} partitions. */
  readonly topic: string;
  /** Databases of the state store and of the processors' output (dropped at the end). */
  readonly stateDb: string;
  readonly outDb: string;
  readonly leaseTtlMs: number;
  readonly checkpointIntervalMs?: number;
}

/**
 * A test of several `sp serve` instances on one MongoDB state store: `setUp` creates the topic, `serve` starts
 * an instance, `tearDown` kills what is left and deletes the topics and databases.
 */
export class SharedStoreBed {
  readonly options: SharedStoreBedOptions;
  readonly mongo: MongoClient;
  private readonly endpoints: ScaleEndpoints;
  private readonly children: ChildProcess[] = [];
  readonly serve: (name: string) => Promise<SharedServe>;

  constructor(endpoints: ScaleEndpoints, options: SharedStoreBedOptions) {
    this.endpoints = endpoints;
    this.options = options;
    this.mongo = new MongoClient(endpoints.mongodbUri);
    this.serve = sharedStoreServers({
      mongodbUri: endpoints.mongodbUri,
      ...options,
      children: this.children,
    });
  }

  async setUp(): Promise<void> {
    await this.mongo.connect();
    await createTopic(this.endpoints, this.options.topic, PARTITIONS);
  }

  /** Kills the instances still running and deletes the topic, `topics` and both databases. */
  async tearDown(topics: readonly string[] = []): Promise<void> {
    for (const child of this.children) if (child.exitCode === null) child.kill("SIGKILL");
    await deleteTopics(this.endpoints, [this.options.topic, ...topics]);
    await this.mongo.db(this.options.stateDb).dropDatabase();
    await this.mongo.db(this.options.outDb).dropDatabase();
    await this.mongo.close();
  }
}

/**
 * Exactly-once Kafka `$emit` (an Eddy extension: `config.exactlyOnce: true`). Everything a processor
 * emits between two checkpoints goes into one Kafka transaction, committed right after the checkpoint was
 * saved. Each transaction also commits a *marker*: a random number, stored as the committed offset of
 * partition 0 of the marker topic in a consumer group named after the transactional id (no consumer ever
 * uses that group; the offset is only a value the broker commits atomically with the transaction). The
 * same number is in the checkpoint, so after a crash the marker says which checkpoint's output reached
 * Kafka (see `TwoPhaseCheckpoints` and docs/checkpoints.md).
 */
import { Admin, FindCoordinatorKeyTypes, Producer, type Message } from "@platformatic/kafka";
import type { KafkaClientOptions } from "./connection.ts";
import { kafkaFailure } from "./errors.ts";

/** Where markers go when `$emit`'s topic is an expression (a literal topic carries its own markers). */
export const SHARED_MARKER_TOPIC = "eddy-transaction-markers";

export interface ExactlyOnceSettings {
  /** Kafka's `transactional.id`: one per processor, stable across restarts and instances. */
  readonly transactionalId: string;
  /** An existing topic whose partition 0 holds the marker (as a committed offset, not as a record). */
  readonly markerTopic: string;
  /** True when the marker topic is {@link SHARED_MARKER_TOPIC}, which Eddy creates when missing. */
  readonly sharedMarkerTopic: boolean;
}

/** The client's transaction (its class is not exported). */
export type KafkaTransaction = Awaited<
  ReturnType<Producer<Buffer, Buffer, Buffer, Buffer>["beginTransaction"]>
>;

/**
 * A transactional producer. Kafka's `InitProducerId` with an explicit "no previous producer" (-1/-1):
 * the client's default of 0/0 reads as "I am producer 0, epoch 0" and is refused as fenced.
 */
export function transactionalProducer(
  client: KafkaClientOptions,
  settings: ExactlyOnceSettings,
  extra: { compression?: "none" | "gzip" | "snappy" | "lz4" | "zstd" } = {},
): Producer<Buffer, Buffer, Buffer, Buffer> {
  return new Producer({
    ...client,
    ...extra,
    transactionalId: settings.transactionalId,
    idempotent: true,
    acks: -1,
    producerId: -1n,
    producerEpoch: -1,
    autocreateTopics: true,
  });
}

/**
 * Commits `marker` inside `transaction` (before its commit): `AddOffsetsToTxn` for the marker group, then
 * `TxnOffsetCommit` of offset `marker` on partition 0 of the marker topic, sent to the group's coordinator.
 */
export async function addMarker(
  transaction: KafkaTransaction,
  admin: Admin,
  settings: ExactlyOnceSettings,
  marker: number,
): Promise<void> {
  const groupId = settings.transactionalId;
  const [coordinator] = await admin.findCoordinator({
    keyType: FindCoordinatorKeyTypes.GROUP,
    keys: [groupId],
  });
  if (!coordinator) throw new Error(`no group coordinator for '${groupId}'`);
  // addConsumer reads only the group id; generation -1 and no member id address a group without members.
  await transaction.addConsumer({ groupId } as Parameters<typeof transaction.addConsumer>[0]);
  await transaction.addOffset({
    topic: settings.markerTopic,
    partition: 0,
    // TxnOffsetCommit commits offset + 1, the position after a consumed message.
    offset: BigInt(marker) - 1n,
    metadata: { consumer: { groupId, generationId: -1, memberId: "", coordinatorId: coordinator.nodeId } },
  } as unknown as Message<Buffer, Buffer, Buffer, Buffer>);
}

/**
 * Recovery: fences every earlier producer with this transactional id (Kafka aborts a transaction it left
 * open, and refuses its commit from now on), then reads the last committed marker, or undefined when
 * none was ever committed. Creates the shared marker topic when it is missing.
 */
export async function fenceAndReadMarker(
  client: KafkaClientOptions,
  settings: ExactlyOnceSettings,
): Promise<number | undefined> {
  const admin = new Admin({ ...client, clientId: `${client.clientId}-recovery` });
  const producer = transactionalProducer({ ...client, clientId: `${client.clientId}-recovery` }, settings);
  try {
    if (settings.sharedMarkerTopic) await ensureTopic(admin, settings.markerTopic);
    const transaction = await producer.beginTransaction();
    await transaction.cancel();
    const [group] = await admin.listConsumerGroupOffsets({
      groups: [
        {
          groupId: settings.transactionalId,
          topics: [{ name: settings.markerTopic, partitionIndexes: [0] }],
        },
      ],
      requireStable: true,
    });
    const committed = group?.topics
      .find((t) => t.name === settings.markerTopic)
      ?.partitions.find((p) => p.partitionIndex === 0)?.committedOffset;
    return committed === undefined || committed < 0n ? undefined : Number(committed);
  } catch (error) {
    throw kafkaFailure(
      error,
      `Kafka exactly-once recovery for transactional id '${settings.transactionalId}' failed`,
    );
  } finally {
    await Promise.allSettled([producer.close(), admin.close()]);
  }
}

async function ensureTopic(admin: Admin, topic: string): Promise<void> {
  const topics = await admin.listTopics();
  if (topics.includes(topic)) return;
  try {
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: -1 });
  } catch (error) {
    // Another instance may have created it in between.
    if (!(await admin.listTopics()).includes(topic)) throw error;
  }
}

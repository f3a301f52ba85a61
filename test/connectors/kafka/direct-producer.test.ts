import { crc32c } from "@node-rs/crc32";
import { Admin, Producer, ProduceAcks, readRecordsBatch, Reader } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { DirectProducer } from "../../../src/connectors/kafka/direct-producer.ts";
import { encodeProduceRequest, type ProduceRecord } from "../../../src/connectors/kafka/produce-request.ts";
import { readMessages, testKafkaClient } from "../../support/kafka.ts";
import { uniqueName } from "../../support/services.ts";

const client = () => testKafkaClient("eddy-test-direct");

/** Reads back a request body: header fields, then each partition's record batch as the client decodes it. */
function decodeRequest(body: Buffer) {
  const reader = Reader.from(body);
  const transactionalIdLength = reader.readUnsignedVarInt();
  const acks = reader.readInt16();
  const timeoutMs = reader.readInt32();
  const topics = [];
  for (let t = reader.readUnsignedVarInt() - 1; t > 0; t--) {
    const topic = reader.readString(true);
    const partitions = [];
    for (let p = reader.readUnsignedVarInt() - 1; p > 0; p--) {
      const partition = reader.readInt32();
      const size = reader.readUnsignedVarInt() - 1;
      const start = reader.position;
      const batchBytes = body.subarray(start, start + size);
      const batch = readRecordsBatch(reader);
      expect(reader.position - start).toBe(size);
      // The CRC covers attributes through the last record (offset 21 onwards).
      expect(batch.crc).toBe(crc32c(batchBytes.subarray(21)));
      expect(batch.length).toBe(size - 12);
      partitions.push({ partition, batch });
      expect(reader.readUnsignedVarInt()).toBe(0);
    }
    topics.push({ topic, partitions });
    expect(reader.readUnsignedVarInt()).toBe(0);
  }
  expect(reader.readUnsignedVarInt()).toBe(0);
  expect(reader.remaining).toBe(0);
  return { transactionalIdLength, acks, timeoutMs, topics };
}

/** The client's reader returns null for a null key, value or header value. */
const text = (bytes: Buffer | null) => (bytes === null ? null : bytes.toString());

interface Received {
  partition: number;
  key: string | undefined;
  value: string | undefined;
  headers: string[];
}

async function readTopic(topic: string, count: number): Promise<Received[]> {
  return (await readMessages([topic], count)).map((message) => ({
    partition: message.partition,
    key: message.key?.length ? message.key.toString() : undefined,
    value: message.value?.length ? message.value.toString() : undefined,
    headers: [...message.headers].map(([k, v]) => `${k.toString()}=${v.toString()}`),
  }));
}

/**
 * A new topic whose partitions already answer their leader's requests: on a broker that just started, a
 * write right after the creation can meet NOT_LEADER_OR_FOLLOWER, and these tests send without retrying.
 */
async function createTopic(partitions: number): Promise<string> {
  const topic = uniqueName("direct");
  const admin = new Admin(client());
  try {
    await admin.createTopics({ topics: [topic], partitions, replicas: 1 });
    const latest = Array.from({ length: partitions }, (_, i) => ({ partitionIndex: i, timestamp: -1n }));
    for (let attempt = 1; ; attempt++) {
      const ready = await admin.listOffsets({ topics: [{ name: topic, partitions: latest }] }).then(
        () => true,
        () => false,
      );
      if (ready) break;
      if (attempt === 40) throw new Error(`topic ${topic} did not become writable`);
      admin.clearMetadata();
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await admin.close();
  }
  return topic;
}

interface SampleRecord {
  topic: string;
  key?: Buffer;
  value?: Buffer;
  headers?: Map<Buffer, Buffer>;
}

/** Records that suit both DirectProducer.send and the client's producer.send. */
function sample(topic: string, count: number): SampleRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    topic,
    // Every third record has no key (round-robin), one has an empty key.
    key: i % 3 === 0 ? undefined : Buffer.from(i === 1 ? "" : `key-${i % 17}`),
    value: i % 50 === 49 ? undefined : Buffer.from(JSON.stringify({ i, text: "é ✓ 😀".repeat(i % 4) })),
    headers:
      i % 5 === 0
        ? new Map<Buffer, Buffer>([
            [Buffer.from("n"), Buffer.from(String(i))],
            [Buffer.from("empty"), Buffer.alloc(0)],
          ])
        : undefined,
  }));
}

describe("encodeProduceRequest", () => {
  it("writes Produce v9 with RecordBatch v2 bodies the client decodes back, CRC included", () => {
    const records: ProduceRecord[] = [
      { key: Buffer.from("k1"), value: Buffer.from('{"a":1}') },
      { value: Buffer.from("x".repeat(300)) },
      { key: Buffer.from("k3") },
      {
        value: Buffer.from("v"),
        headers: new Map<Uint8Array, Uint8Array | undefined>([
          [Buffer.from("h"), Buffer.from("1")],
          [Buffer.from("null"), undefined],
        ]),
      },
    ];
    const body = encodeProduceRequest(
      {
        acks: -1,
        timeoutMs: 1234,
        timestamp: 1_700_000_000_000,
        topics: [
          {
            topic: "t1",
            partitions: [
              { partition: 0, records },
              { partition: 3, records: records.slice(0, 1) },
            ],
          },
          { topic: "ü-topic", partitions: [{ partition: 1, records: records.slice(1) }] },
        ],
      },
      16, // a tiny first buffer: the encoder grows it
    );
    const decoded = decodeRequest(body);
    expect(decoded).toMatchObject({ transactionalIdLength: 0, acks: -1, timeoutMs: 1234 });
    expect(decoded.topics.map((t) => [t.topic, t.partitions.map((p) => p.partition)])).toEqual([
      ["t1", [0, 3]],
      ["ü-topic", [1]],
    ]);
    const batch = decoded.topics[0].partitions[0].batch;
    expect(batch).toMatchObject({
      magic: 2,
      attributes: 0,
      lastOffsetDelta: 3,
      firstTimestamp: 1_700_000_000_000n,
      maxTimestamp: 1_700_000_000_000n,
      producerId: -1n,
      producerEpoch: -1,
      firstSequence: -1,
      partitionLeaderEpoch: -1,
    });
    expect(
      batch.records.map((r) => ({
        offsetDelta: r.offsetDelta,
        key: text(r.key),
        value: text(r.value),
        headers: r.headers.map(([k, v]) => [text(k), text(v)]),
      })),
    ).toEqual([
      { offsetDelta: 0, key: "k1", value: '{"a":1}', headers: [] },
      { offsetDelta: 1, key: null, value: "x".repeat(300), headers: [] },
      { offsetDelta: 2, key: "k3", value: null, headers: [] },
      {
        offsetDelta: 3,
        key: null,
        value: "v",
        headers: [
          ["h", "1"],
          ["null", null],
        ],
      },
    ]);
    expect(decoded.topics[1].partitions[0].batch.records).toHaveLength(3);
  });

  it("writes each record's own timestamp: deltas from the first, negative and beyond 32 bits included", () => {
    const base = 1_700_000_000_000;
    const times = [base, base + 1, base - 5_000, base + 40 * 86_400_000, undefined, base - 3_000_000_000];
    const records: ProduceRecord[] = times.map((timestamp, i) => ({
      value: Buffer.from(`v${i}`),
      ...(timestamp !== undefined ? { timestamp } : {}),
    }));
    const request = 1_800_000_000_000; // the time of records without their own
    const body = encodeProduceRequest({
      acks: 1,
      timeoutMs: 1000,
      timestamp: request,
      topics: [{ topic: "t", partitions: [{ partition: 0, records }] }],
    });
    const batch = decodeRequest(body).topics[0].partitions[0].batch;
    expect(batch.firstTimestamp).toBe(BigInt(base));
    expect(batch.maxTimestamp).toBe(BigInt(request));
    expect(batch.records.map((r) => batch.firstTimestamp + r.timestampDelta)).toEqual(
      times.map((t) => BigInt(t ?? request)),
    );
    expect(batch.records.map((r) => text(r.value))).toEqual(times.map((_, i) => `v${i}`));
  });
});

describe("DirectProducer", () => {
  it("puts every record on the partition and in the order the client's own send would", async () => {
    const [viaDirect, viaClient] = await Promise.all([createTopic(3), createTopic(3)]);
    const producer = new Producer({ ...client(), acks: ProduceAcks.ALL, autocreateTopics: true });
    const direct = new DirectProducer(producer, { acks: -1 });
    try {
      expect(await direct.available()).toBe(true);
      const records = sample(viaDirect, 600);
      await direct.send(records.slice(0, 250));
      await direct.send(records.slice(250));
      const clientRecords = sample(viaClient, 600);
      const reference = new Producer({ ...client(), acks: ProduceAcks.ALL });
      try {
        await reference.send({ messages: clientRecords.slice(0, 250) });
        await reference.send({ messages: clientRecords.slice(250) });
      } finally {
        await reference.close();
      }
    } finally {
      await producer.close();
    }
    const [written, reference] = await Promise.all([readTopic(viaDirect, 600), readTopic(viaClient, 600)]);
    const byPartition = (received: Received[]) =>
      [0, 1, 2].map((p) =>
        received.filter((r) => r.partition === p).map(({ partition: _, ...rest }) => rest),
      );
    expect(byPartition(written)).toEqual(byPartition(reference));
    expect(written.filter((r) => r.value === undefined)).toHaveLength(12);
    expect(written.find((r) => r.headers.length > 0)?.headers).toEqual(["n=0", "empty="]);
  });

  it("writes with acks 1 and 0, to several topics in one request", async () => {
    const [a, b] = await Promise.all([createTopic(1), createTopic(2)]);
    // acks 1 first, retried while the new topics settle: acks 0 gets no answer, so a write the broker
    // refused (a partition not loaded yet) would be lost without a trace.
    for (const acks of [1, 0]) {
      const producer = new Producer({ ...client(), autocreateTopics: true });
      const direct = new DirectProducer(producer, { acks });
      const records = [...sample(a, 10), ...sample(b, 10)].map((r) => ({ ...r, key: undefined }));
      try {
        for (let attempt = 1; ; attempt++) {
          const error = await direct.send(records).then(
            () => undefined,
            (e: unknown) => e,
          );
          if (error === undefined) break;
          if (attempt === 20) throw error;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      } finally {
        // acks 0 has no response to wait for: give the broker a moment before closing the connection.
        if (acks === 0) await new Promise((resolve) => setTimeout(resolve, 300));
        await producer.close();
      }
    }
    const [inA, inB] = await Promise.all([readTopic(a, 20), readTopic(b, 20)]);
    expect(inA).toHaveLength(20);
    expect(new Set(inB.map((r) => r.partition))).toEqual(new Set([0, 1]));
  });

  it("fails with the client's unknown-topic error when it may not create the topic", async () => {
    const producer = new Producer(client());
    const direct = new DirectProducer(producer, { acks: -1, autocreateTopics: false });
    try {
      const error = await direct.send(sample(uniqueName("missing"), 1)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/Unknown topic/i);
    } finally {
      await producer.close();
    }
  });
});

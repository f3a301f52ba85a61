// Eddy's fetch path (fetch-request.ts, record-batch.ts, fetcher.ts) against the real broker and against the
// client's own decoding (readRecordsBatches) of the same bytes.
import {
  Admin,
  createRecordsBatch,
  Producer,
  readRecordsBatch,
  readRecordsBatches,
  Reader,
  Writer,
  type MessageRecord,
} from "@platformatic/kafka";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeFetchResponse,
  encodeFetchRequest,
  FETCH_API_KEY,
  FETCH_VERSION,
  READ_COMMITTED,
  READ_UNCOMMITTED,
} from "../../../src/connectors/kafka/fetch-request.ts";
import {
  CorruptRecordBatchError,
  decodeRecordBatches,
  type FetchedHeader,
} from "../../../src/connectors/kafka/record-batch.ts";
import { KafkaSource, type KafkaSourcePlan } from "../../../src/connectors/kafka/source.ts";
import { transactionalProducer } from "../../../src/connectors/kafka/transactions.ts";
import type { Doc } from "../../../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor } from "../../../src/pipeline/index.ts";
import type { SourceRecord } from "../../../src/runtime/source.ts";
import { CONNECTORS } from "../../../src/connectors/registry.ts";
import { testKafkaClient } from "../../support/kafka.ts";
import { uniqueName } from "../../support/services.ts";

const client = () => testKafkaClient("eddy-test-fetch");
const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;

interface Decoded {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Array<[string, string | null]>;
}

const text = (bytes: Buffer | null | undefined) => (bytes == null ? null : bytes.toString("latin1"));

function collector(out: Decoded[]) {
  return {
    record(
      offset: number,
      timestamp: number,
      key: Buffer | null,
      value: Buffer | null,
      headers: FetchedHeader[] | undefined,
    ) {
      out.push({
        offset,
        timestamp,
        key: text(key),
        value: text(value),
        headers: (headers ?? []).map(([k, v]) => [k, text(v)]),
      });
    },
  };
}

/** One Fetch v11 request for partition 0 of `topic`, answered by the broker: the raw response body. */
async function rawFetch(
  topic: string,
  options: { offset?: bigint; maxBytes?: number; isolation?: 0 | 1 } = {},
) {
  const admin = new Admin(client());
  try {
    const metadata = await admin.metadata({ topics: [topic] });
    const leader = metadata.brokers.get(metadata.topics.get(topic)?.partitions[0]?.leader ?? -1);
    if (!leader) throw new Error("no leader");
    const connection = await admin.connections.get(leader);
    const body = encodeFetchRequest({
      maxWaitMs: 100,
      minBytes: 1,
      maxBytes: 50 * 1024 * 1024,
      isolationLevel: options.isolation ?? READ_UNCOMMITTED,
      topics: [
        {
          topic,
          partitions: [
            { partition: 0, fetchOffset: options.offset ?? 0n, maxBytes: options.maxBytes ?? 1 << 20 },
          ],
        },
      ],
    });
    return await new Promise<Buffer>((resolve, reject) =>
      connection.send(
        FETCH_API_KEY,
        FETCH_VERSION,
        () => Writer.create().append(body),
        (_c, _a, _v, reader: Reader) => reader.buffer.slice(reader.position),
        false,
        false,
        (error, bytes) => (error ? reject(error) : resolve(bytes as Buffer)),
      ),
    );
  } finally {
    await admin.close();
  }
}

/** Where partition 0's records start and end in a one-topic, one-partition response body. */
function recordsRegion(body: Buffer): [number, number] {
  let p = 4 + 2 + 4 + 4;
  p += 2 + body.readInt16BE(p) + 4;
  p += 4 + 2 + 8 + 8 + 8;
  p += 4 + Math.max(0, body.readInt32BE(p)) * 16 + 4;
  const size = body.readInt32BE(p);
  return [p + 4, p + 4 + Math.max(0, size)];
}

/** The same records as the client decodes them (control batches left out). */
function clientDecode(bytes: Buffer, fromOffset = 0): Decoded[] {
  const out: Decoded[] = [];
  for (const batch of readRecordsBatches(Reader.from(bytes))) {
    if (batch.attributes & 0x20) continue;
    for (const record of batch.records) {
      const offset = Number(batch.firstOffset) + record.offsetDelta;
      if (offset < fromOffset) continue;
      out.push({
        offset,
        timestamp: Number(batch.firstTimestamp + record.timestampDelta),
        key: text(record.key),
        value: text(record.value),
        headers: record.headers.map(([k, v]) => [k?.toString("utf8") ?? "", text(v)]),
      });
    }
  }
  return out;
}

function eddyDecode(body: Buffer, isolation = READ_UNCOMMITTED, fromOffset = 0) {
  const out: Decoded[] = [];
  const response = decodeFetchResponse(
    body,
    { fetchOffset: () => fromOffset, visitor: () => collector(out) },
    isolation,
  );
  return { records: out, response };
}

const catalog = new MapConnectionCatalog([{ name: "k", type: "Kafka", config: {} }]);
function sourcePlan(source: Doc): KafkaSourcePlan {
  const plan = planProcessor(
    { name: "kfetch", pipeline: [{ $source: { connectionName: "k", ...source } }] },
    { connectors: CONNECTORS, connections: catalog, ephemeral: true },
  );
  return plan.source as KafkaSourcePlan;
}

async function readAll(source: KafkaSource, count: number): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  for (let i = 0; i < 80 && records.length < count; i++)
    records.push(...((await source.next())?.records ?? []));
  // A little longer: nothing more may come.
  for (let i = 0; i < 3; i++) records.push(...((await source.next())?.records ?? []));
  return records;
}

function produced(n: number, tag: string, withHeaders: boolean): MessageRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    topic: "",
    key: i % 3 === 0 ? undefined : Buffer.from(`k${i}`),
    value: Buffer.from(JSON.stringify({ tag, i, pad: "p".repeat(i % 50) })),
    ...(withHeaders && i % 2 === 0
      ? {
          headers: new Map([
            [Buffer.from("h"), Buffer.from(`v${i}`)],
            [Buffer.from("é"), Buffer.alloc(0)],
          ]),
        }
      : {}),
  }));
}

describe("Kafka fetch path", () => {
  it.each(CODECS)(
    "decodes what the broker returns for %s batches exactly as the client does",
    async (compression) => {
      const topic = uniqueName(`fetch_${compression}`);
      const producer = new Producer({ ...client(), autocreateTopics: true, compression });
      for (let batch = 0; batch < 4; batch++) {
        await producer.send({
          messages: produced(60, `${compression}${batch}`, batch % 2 === 0).map((m) => ({ ...m, topic })),
        });
      }
      await producer.close();

      const body = await rawFetch(topic);
      const [start, end] = recordsRegion(body);
      const expected = clientDecode(body.subarray(start, end));
      const { records, response } = eddyDecode(body);
      expect(expected).toHaveLength(240);
      expect(records).toEqual(expected);
      expect(response.partitions).toMatchObject([{ topic, partition: 0, errorCode: 0, nextOffset: 240 }]);
      expect(records.filter((r) => r.key === null)).toHaveLength(80);
      expect(records[0].headers).toEqual([
        ["h", "v0"],
        ["é", ""],
      ]);

      // Asked from the middle of a batch: the records before the offset are not delivered.
      const middle = eddyDecode(await rawFetch(topic, { offset: 100n }), READ_UNCOMMITTED, 100).records;
      expect(middle).toEqual(expected.slice(100));
    },
  );

  it("leaves a batch cut by the fetch size for the next fetch", async () => {
    const topic = uniqueName("fetch_split");
    const producer = new Producer({ ...client(), autocreateTopics: true });
    for (let batch = 0; batch < 5; batch++)
      await producer.send({ messages: produced(20, `s${batch}`, true).map((m) => ({ ...m, topic })) });
    await producer.close();

    const whole = eddyDecode(await rawFetch(topic)).records;
    expect(whole).toHaveLength(100);
    const reread: Decoded[] = [];
    let offset = 0n;
    let fetches = 0;
    let sawCutBatch = false;
    while (reread.length < 100 && fetches++ < 50) {
      const body = await rawFetch(topic, { offset, maxBytes: 1500 });
      const [start, end] = recordsRegion(body);
      const complete = readRecordsBatches(Reader.from(body.subarray(start, end))).reduce(
        (sum, batch) => sum + 12 + batch.length,
        0,
      );
      sawCutBatch ||= end - start > complete;
      const { records, response } = eddyDecode(body, READ_UNCOMMITTED, Number(offset));
      reread.push(...records);
      expect(response.partitions[0].nextOffset).toBeGreaterThan(Number(offset));
      offset = BigInt(response.partitions[0].nextOffset);
    }
    expect(sawCutBatch).toBe(true);
    expect(reread).toEqual(whole);
  });

  it("rejects a batch whose CRC-32C does not match, naming the partition and offset", async () => {
    const topic = uniqueName("fetch_crc");
    const producer = new Producer({ ...client(), autocreateTopics: true });
    await producer.send({ messages: produced(10, "crc", false).map((m) => ({ ...m, topic })) });
    await producer.send({ messages: produced(10, "crc", false).map((m) => ({ ...m, topic })) });
    await producer.close();
    const body = await rawFetch(topic);
    const [, end] = recordsRegion(body);
    body[end - 3] ^= 0x01; // inside the last record of the second batch
    let thrown: unknown;
    try {
      eddyDecode(body);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CorruptRecordBatchError);
    expect((thrown as CorruptRecordBatchError).retryable).toBe(false);
    expect((thrown as Error).message).toBe(
      `corrupt Kafka record batch in ${topic}:0 at offset 10: the record batch's CRC-32C does not match its bytes`,
    );
  });

  it("decodes any batch the client encodes, with any codec, as the client decodes it", () => {
    const bytes = fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined });
    const record = fc.record({
      key: bytes,
      value: fc.uint8Array({ maxLength: 300 }),
      headers: fc.array(fc.tuple(fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 20 })), {
        maxLength: 3,
      }),
      timestampDelta: fc.integer({ min: -1_000_000, max: 100_000_000_000 }),
    });
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 30 }),
        fc.constantFrom(...CODECS),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.nat({ max: 40 }),
        (records, compression, baseOffset, skip) => {
          const base = 1_700_000_000_000n;
          const messages: MessageRecord[] = records.map((r) => ({
            topic: "t",
            key: r.key === undefined ? undefined : Buffer.from(r.key),
            value: Buffer.from(r.value),
            headers: new Map(r.headers.map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
            timestamp: base + BigInt(r.timestampDelta),
          }));
          const batch = Buffer.from(createRecordsBatch(messages, { compression }).buffer);
          batch.writeBigInt64BE(BigInt(baseOffset), 0);
          const fromOffset = baseOffset + skip;
          const out: Decoded[] = [];
          const next = decodeRecordBatches(
            batch,
            0,
            batch.length,
            { label: "t:0", fetchOffset: fromOffset, aborted: null },
            collector(out),
          );
          const theirs = readRecordsBatch(Reader.from(batch));
          const expected = theirs.records
            .map((r) => ({
              offset: baseOffset + r.offsetDelta,
              timestamp: Number(theirs.firstTimestamp + r.timestampDelta),
              key: text(r.key),
              value: text(r.value),
              headers: r.headers.map(
                ([k, v]) => [k?.toString("utf8") ?? "", text(v)] as [string, string | null],
              ),
            }))
            .filter((r) => r.offset >= fromOffset);
          expect(out).toEqual(expected);
          expect(next).toBe(baseOffset + records.length);
          // Any prefix of the batch is a batch cut by the fetch size: nothing, and no position.
          const cut = fc.sample(fc.integer({ min: 0, max: batch.length - 1 }), 1)[0];
          expect(
            decodeRecordBatches(
              batch,
              0,
              cut,
              { label: "t:0", fetchOffset: 0, aborted: null },
              collector([]),
            ),
          ).toBe(-1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("skips aborted transactions and control batches under read_committed, also across fetches", async () => {
    const topic = uniqueName("fetch_txn");
    const setup = new Producer({ ...client(), autocreateTopics: true });
    await setup.send({ messages: [{ topic, value: Buffer.from('{"n":"plain0"}') }] });
    const producer = transactionalProducer(client(), {
      transactionalId: uniqueName("txn"),
      markerTopic: "",
      sharedMarkerTopic: false,
    });
    const expected: string[] = ["plain0"];
    for (let t = 0; t < 6; t++) {
      const transaction = await producer.beginTransaction();
      // Several batches per transaction, so that a small fetch ends inside it.
      for (let b = 0; b < 3; b++) {
        const values = Array.from({ length: 10 }, (_, i) => `t${t}b${b}i${i}`);
        await transaction.send({
          messages: values.map((n) => ({
            topic,
            value: Buffer.from(JSON.stringify({ n, pad: "x".repeat(40) })),
          })),
        });
        if (t % 2 === 0) expected.push(...values);
      }
      if (t % 2 === 0) await transaction.commit();
      else await transaction.abort();
      await setup.send({ messages: [{ topic, value: Buffer.from(JSON.stringify({ n: `plain${t + 1}` })) }] });
      expected.push(`plain${t + 1}`);
    }
    await producer.close();
    await setup.close();

    // The raw response lists the aborted transactions; read_uncommitted would deliver everything.
    const committedBody = await rawFetch(topic, { isolation: READ_COMMITTED });
    expect(eddyDecode(committedBody, READ_COMMITTED).records.map((r) => JSON.parse(r.value ?? "").n)).toEqual(
      expected,
    );
    expect(eddyDecode(await rawFetch(topic)).records.length).toBeGreaterThan(expected.length);

    for (const fetchBytesPerPartition of [1 << 20, 700]) {
      const source = new KafkaSource(
        client(),
        sourcePlan({ topic, config: { auto_offset_reset: "earliest" } }),
        { fallbackGroupId: uniqueName("g"), fetchBytesPerPartition, maxBatchSize: 50 },
      );
      await source.start();
      const records = await readAll(source, expected.length);
      const positions = source.positions();
      await source.close();
      expect(records.map((r) => r.doc?.n)).toEqual(expected);
      // The last record is plain: the position is just after it.
      const last = records.at(-1)?.meta?.offset as number;
      expect(positions).toEqual({ offsets: { [`${topic}:0`]: String(last + 1) } });
    }
  });

  it("gives every record of a LogAppendTime topic the broker's append time", async () => {
    const topic = uniqueName("fetch_logappend");
    const admin = new Admin(client());
    await admin.createTopics({
      topics: [topic],
      partitions: 1,
      replicas: 1,
      configs: [{ name: "message.timestamp.type", value: "LogAppendTime" }],
    });
    await admin.close();
    const before = Date.now();
    const producer = new Producer({ ...client(), autocreateTopics: true });
    const old = 1_000_000_000_000n; // 2001: what the producer claims
    await producer.send({
      messages: [0, 1, 2].map((i) => ({
        topic,
        value: Buffer.from(`{"i":${i}}`),
        timestamp: old + BigInt(i),
      })),
    });
    await producer.close();
    const records = eddyDecode(await rawFetch(topic)).records;
    expect(records).toHaveLength(3);
    for (const record of records) {
      expect(record.timestamp).toBeGreaterThanOrEqual(before - 60_000);
      expect(record.timestamp).toBe(records[0].timestamp);
    }
  });

  it("a source reads gzip batches with headers and null keys across small fetches, each record once", async () => {
    const topic = uniqueName("fetch_src_gzip");
    const producer = new Producer({ ...client(), autocreateTopics: true, compression: "gzip" });
    for (let batch = 0; batch < 6; batch++)
      await producer.send({ messages: produced(50, `g${batch}`, true).map((m) => ({ ...m, topic })) });
    await producer.close();
    const source = new KafkaSource(
      client(),
      sourcePlan({ topic, config: { auto_offset_reset: "earliest", keyFormat: "string" } }),
      { fallbackGroupId: uniqueName("g"), fetchBytesPerPartition: 600, maxBatchSize: 40 },
    );
    await source.start();
    const records = await readAll(source, 300);
    await source.close();
    expect(records.map((r) => `${r.doc?.tag}/${r.doc?.i}`)).toEqual(
      Array.from({ length: 300 }, (_, n) => `g${Math.floor(n / 50)}/${n % 50}`),
    );
    expect(records.map((r) => r.meta?.offset)).toEqual(Array.from({ length: 300 }, (_, n) => n));
    expect(records[1].meta?.key).toBe("k1");
    expect(records[0].meta?.key).toBeUndefined();
    expect((records[0].meta?.headers as Array<{ k: string }>).map((h) => h.k)).toEqual(["h", "é"]);
    expect(records[1].meta?.headers).toBeUndefined();
  });
});

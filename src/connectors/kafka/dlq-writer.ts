/**
 * `options.dlq: {connectionName, topic}` on a Kafka connection (an Eddy extension): each dead-letter
 * record is one Kafka message, its value the record as relaxed Extended JSON, with the headers
 * `error-message` (the record's reason), `original-topic` (the Kafka topic the document came from, empty
 * for other sources) and `failed-at` (ISO-8601). Sends are retried after transient errors; a DLQ that
 * stays unreachable fails the run (retryable).
 */
import type { Producer } from "@platformatic/kafka";
import { stringifyExtendedJson } from "../../codec/ejson.ts";
import type { Doc } from "../../mql/index.ts";
import type { DlqWriter } from "../../runtime/dlq.ts";
import { withRetries } from "../retry.ts";
import type { KafkaClientOptions } from "./connection.ts";
import { isTransientKafkaError, kafkaFailure } from "./errors.ts";

export class KafkaDlqWriter implements DlqWriter {
  private readonly client: KafkaClientOptions;
  private readonly topic: string;
  // Created at the first dead letter: the client library is loaded only by processors that need it.
  private producer: Promise<Producer<Buffer, Buffer, Buffer, Buffer>> | undefined;

  constructor(client: KafkaClientOptions, topic: string) {
    this.client = client;
    this.topic = topic;
  }

  private connect(): Promise<Producer<Buffer, Buffer, Buffer, Buffer>> {
    this.producer ??= import("@platformatic/kafka").then(
      ({ Producer }) => new Producer({ ...this.client, acks: -1, autocreateTopics: true }),
    );
    return this.producer;
  }

  async write(records: readonly Doc[]): Promise<void> {
    if (records.length === 0) return;
    const messages = records.map((record) => ({
      topic: this.topic,
      value: Buffer.from(stringifyExtendedJson(record)),
      headers: new Map([
        [Buffer.from("error-message"), Buffer.from(errorMessage(record))],
        [Buffer.from("original-topic"), Buffer.from(originalTopic(record))],
        [Buffer.from("failed-at"), Buffer.from(failedAt(record))],
      ]),
    }));
    try {
      const producer = await this.connect();
      await withRetries(() => producer.send({ messages }), isTransientKafkaError);
    } catch (error) {
      throw kafkaFailure(error, `writing the dead letter queue topic '${this.topic}' failed`);
    }
  }

  async close(): Promise<void> {
    const producer = await this.producer?.catch(() => undefined);
    await producer?.close().catch(() => undefined);
  }
}

/** `errInfo.reason` of an operator error, `error` of a late-data record. */
function errorMessage(record: Doc): string {
  const reason = (record.errInfo as Doc | undefined)?.reason ?? record.error;
  return typeof reason === "string" ? reason : "";
}

function originalTopic(record: Doc): string {
  const meta = (record._stream_meta ?? (record.doc as Doc | undefined)?._stream_meta) as Doc | undefined;
  const topic = (meta?.source as Doc | undefined)?.topic;
  return typeof topic === "string" ? topic : "";
}

function failedAt(record: Doc): string {
  return record.dlqTime instanceof Date ? record.dlqTime.toISOString() : new Date().toISOString();
}

import { Consumer, type Message } from "@platformatic/kafka";
import { kafkaClientOptions } from "../../src/connectors/kafka/connection.ts";
import { testServices, uniqueName } from "./services.ts";

export type KafkaMessage = Message<Buffer, Buffer, Buffer, Buffer>;

/** Client options for the test broker. */
export function testKafkaClient(clientId: string) {
  return kafkaClientOptions({ bootstrapServers: testServices().kafkaBrokers.join(",") }, clientId);
}

/** The first `count` messages of `topics`, read from the earliest offset by a fresh consumer group. */
export async function readMessages(topics: string[], count: number): Promise<KafkaMessage[]> {
  const consumer = new Consumer({ ...testKafkaClient("eddy-test-reader"), groupId: uniqueName("reader") });
  const stream = await consumer.consume({ topics, mode: "earliest", autocommit: false, maxWaitTime: 200 });
  const out: KafkaMessage[] = [];
  try {
    for await (const message of stream) {
      out.push(message);
      if (out.length >= count) break;
    }
  } finally {
    await stream.close();
    await consumer.close(true);
  }
  return out;
}

/**
 * Every message committed to `topic` (read_committed, the client's default: aborted transactions are
 * skipped), parsed as JSON, read from the earliest offset until `quietMs` pass without more.
 */
export async function readCommitted(topic: string, quietMs = 1_500): Promise<Array<Record<string, unknown>>> {
  const consumer = new Consumer({
    ...testKafkaClient("eddy-test-eos-reader"),
    groupId: uniqueName("eos_reader"),
  });
  const stream = await consumer.consume({
    topics: [topic],
    mode: "earliest",
    autocommit: false,
    maxWaitTime: 200,
  });
  const out: Array<Record<string, unknown>> = [];
  let timer = setTimeout(() => void stream.close(), quietMs * 4);
  try {
    for await (const message of stream) {
      out.push(JSON.parse(String(message.value)) as Record<string, unknown>);
      clearTimeout(timer);
      timer = setTimeout(() => void stream.close(), quietMs);
    }
  } finally {
    clearTimeout(timer);
    await consumer.close(true);
  }
  return out;
}

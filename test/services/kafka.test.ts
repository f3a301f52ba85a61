// Proves the Kafka endpoint is a real broker, through the client Eddy uses (@platformatic/kafka; see
// docs/testing.md for why): produce, consume in a group from the earliest offset, and authenticate
// on the SASL listener.
import {
  Admin,
  Consumer,
  MessagesStreamModes,
  Producer,
  stringDeserializers,
  stringSerializers,
  type SASLMechanismValue,
} from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../support/services.ts";

describe("Kafka test broker", () => {
  const { kafkaBrokers, kafkaSasl } = testServices();

  it("delivers produced messages, with keys and headers, to a consumer group in order", async () => {
    const topic = uniqueName("smoke");
    const admin = new Admin({ clientId: "smoke", bootstrapBrokers: kafkaBrokers });
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
    await admin.close();

    const producer = new Producer({
      clientId: "smoke",
      bootstrapBrokers: kafkaBrokers,
      serializers: stringSerializers,
    });
    const sent = ["one", "two", "three"].map((value, i) => ({
      topic,
      key: `k${i}`,
      value,
      headers: new Map([["source", "smoke"]]),
    }));
    await producer.send({ messages: sent });
    await producer.close();

    const consumer = new Consumer({
      clientId: "smoke",
      groupId: uniqueName("smoke"),
      bootstrapBrokers: kafkaBrokers,
      deserializers: stringDeserializers,
    });
    try {
      const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
      const received: { key: string; value: string; offset: bigint; source: string | undefined }[] = [];
      for await (const message of stream) {
        received.push({
          key: message.key,
          value: message.value,
          offset: message.offset,
          source: message.headers.get("source"),
        });
        if (received.length === sent.length) break;
      }
      await stream.close();
      expect(received).toEqual([
        { key: "k0", value: "one", offset: 0n, source: "smoke" },
        { key: "k1", value: "two", offset: 1n, source: "smoke" },
        { key: "k2", value: "three", offset: 2n, source: "smoke" },
      ]);
    } finally {
      await consumer.close(true);
    }
  });

  const saslIt = it.runIf(kafkaSasl !== undefined);
  const mechanisms: SASLMechanismValue[] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

  saslIt.each(mechanisms)("authenticates with SASL %s and rejects a wrong password", async (mechanism) => {
    const sasl = kafkaSasl!;
    const metadataAs = async (password: string) => {
      const admin = new Admin({
        clientId: "smoke-sasl",
        bootstrapBrokers: sasl.brokers,
        sasl: { mechanism, username: sasl.username, password },
        retries: 0,
      });
      try {
        return (await admin.metadata({ topics: [] })).brokers.size;
      } finally {
        await admin.close();
      }
    };
    expect(await metadataAs(sasl.password)).toBe(1);
    await expect(metadataAs("wrong-password")).rejects.toThrow();
  });
});

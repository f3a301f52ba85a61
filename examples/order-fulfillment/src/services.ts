// The servers the demo needs: MongoDB (MONGODB_URI, else a private stand-in with MongoDB-shaped change
// events, stand-in/DemoMongoServer.java) and, for the Kafka destination, a broker with a SASL_PLAINTEXT
// listener (KAFKA_BROKERS, else a private broker). Each one the demo starts, it stops.
import { Admin } from "@platformatic/kafka";
import { delimiter, join } from "node:path";
import { HOST, kafkaSaslUser, mongoReportedVersion, timeouts } from "../../../scripts/services/config.ts";
import { makeRunDir, readyOrStop, startJavaServer } from "../../../scripts/services/java-server.ts";
import { compileJava } from "../../../scripts/services/maven.ts";
import { isMongoUp, mongoClasspath } from "../../../scripts/services/mongo.ts";
import { freePort, parentWatchJar, startPrivateKafka } from "../../../scripts/services/private.ts";
import { CART_TOPIC } from "./generator.ts";

export interface Started<T> {
  readonly value: T;
  /** Stops it if the demo started it; does nothing for a server it was given. */
  stop(): Promise<void>;
  readonly startedHere: boolean;
}

export interface KafkaAccess {
  readonly brokers: string[];
  readonly username: string;
  readonly password: string;
}

const here = import.meta.dirname;

/** MONGODB_URI, or a fresh stand-in on a free port. */
export async function mongoServer(env: NodeJS.ProcessEnv): Promise<Started<string>> {
  const given = env.MONGODB_URI?.trim();
  if (given) return { value: given, startedHere: false, stop: async () => undefined };
  const port = await freePort();
  const classpath = await mongoClasspath();
  const launcher = await compileJava(
    "order-demo-mongo",
    [join(here, "..", "stand-in", "DemoMongoServer.java")],
    classpath,
  );
  const uri = `mongodb://${HOST}:${port}/?directConnection=true`;
  const server = await readyOrStop(
    startJavaServer(
      {
        name: "order-demo-mongo",
        runDir: await makeRunDir("order-demo-mongo"),
        classpath: [launcher, ...classpath.split(delimiter)],
        jvmArgs: ["-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"],
        mainClass: "DemoMongoServer",
        args: [HOST, String(port), mongoReportedVersion.version, String(mongoReportedVersion.wireVersion)],
      },
      await parentWatchJar(),
    ),
    () => isMongoUp(uri, 1000),
    { what: `the demo's MongoDB stand-in on ${HOST}:${port}`, timeoutMs: timeouts.mongoReadyMs },
  );
  return { value: uri, startedHere: true, stop: () => server.stop() };
}

/** KAFKA_BROKERS (its SASL_PLAINTEXT listener, KAFKA_USERNAME / KAFKA_PASSWORD), or a private broker. */
export async function kafkaServer(env: NodeJS.ProcessEnv): Promise<Started<KafkaAccess>> {
  const given = env.KAFKA_BROKERS?.trim();
  const username = env.KAFKA_USERNAME?.trim() || kafkaSaslUser.username;
  const password = env.KAFKA_PASSWORD?.trim() || kafkaSaslUser.password;
  if (given) {
    const brokers = given.split(",").map((broker) => broker.trim());
    return { value: { brokers, username, password }, startedHere: false, stop: async () => undefined };
  }
  const kafka = await startPrivateKafka();
  return {
    value: { brokers: kafka.saslBrokers, username: kafkaSaslUser.username, password: kafkaSaslUser.password },
    startedHere: true,
    stop: () => kafka.dispose(),
  };
}

/**
 * A fresh `shopping-cart-events` topic (3 partitions, keyed by customer) with the Kafka processor's consumer
 * group placed at its start: the processor reads from `auto_offset_reset` "latest" when its group has no
 * offsets, and events sent while it is still joining would otherwise be skipped.
 */
export async function prepareCartTopic(kafka: KafkaAccess, consumerGroup: string): Promise<void> {
  const admin = new Admin({
    clientId: "order-fulfillment-setup",
    bootstrapBrokers: kafka.brokers,
    sasl: { mechanism: "PLAIN", username: kafka.username, password: kafka.password },
  });
  const partitions = 3;
  try {
    const existing = await admin.listTopics();
    if (existing.includes(CART_TOPIC)) {
      await admin.deleteTopics({ topics: [CART_TOPIC] });
      await waitFor(async () => !(await admin.listTopics()).includes(CART_TOPIC), "the old topic to go");
    }
    await waitFor(async () => {
      try {
        await admin.createTopics({ topics: [CART_TOPIC], partitions, replicas: 1 });
        return true;
      } catch {
        return (await admin.listTopics()).includes(CART_TOPIC);
      }
    }, "the topic to be created");
    const partitionOffsets = Array.from({ length: partitions }, (_, partition) => ({
      partition,
      offset: 0n,
    }));
    await waitFor(async () => {
      try {
        await admin.alterConsumerGroupOffsets({
          groupId: consumerGroup,
          topics: [{ name: CART_TOPIC, partitionOffsets }],
        });
        return true;
      } catch {
        return false;
      }
    }, "the consumer group's offsets");
  } finally {
    await admin.close();
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Kafka set-up: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

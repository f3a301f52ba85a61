// The real Apache Kafka broker (jars from Maven Central), one node in KRaft mode, storage formatted
// afresh in a temporary directory on every start (or, for fault-injection tests, kept in a data
// directory of the caller's across restarts: see private.ts).
import { Admin } from "@platformatic/kafka";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { spawn } from "node:child_process";
import { HOST, kafkaSaslUser, ports, timeouts } from "./config.ts";
import {
  classDataSharingArgs,
  makeRunDir,
  readyOrStop,
  startJavaServer,
  type JavaServer,
} from "./java-server.ts";
import { resolveClasspath } from "./maven.ts";

const here = import.meta.dirname;

let classpathPromise: Promise<string> | undefined;

/** Fetches the jars (first call only) and returns their classpath; call early to queue Maven. */
export function kafkaClasspath(): Promise<string> {
  return (classpathPromise ??= resolveClasspath("kafka", join(here, "kafka", "pom.xml")));
}

/** True if a Kafka broker answers a metadata request at host:port and lists at least one broker. */
export async function isKafkaUp(broker: string, timeoutMs = 2000): Promise<boolean> {
  const admin = new Admin({
    clientId: "eddy-services-probe",
    bootstrapBrokers: [broker],
    retries: 0,
    connectTimeout: timeoutMs,
    timeout: timeoutMs,
  });
  try {
    const metadata = await admin.metadata({ topics: [] });
    return metadata.brokers.size > 0;
  } catch {
    return false;
  } finally {
    await admin.close().catch(() => undefined);
  }
}

/** The ports one broker listens on; the shared test broker uses `ports` from config.ts. */
export interface KafkaPorts {
  readonly kafka: number;
  readonly kafkaController: number;
  readonly kafkaSasl: number;
}

function serverProperties(
  logDir: string,
  ports: KafkaPorts,
  extra: Readonly<Record<string, string>> = {},
): string {
  const jaas = (module: string, options = "") =>
    `org.apache.kafka.common.security.${module} required${options};`;
  const { username, password } = kafkaSaslUser;
  return [
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@${HOST}:${ports.kafkaController}`,
    `listeners=PLAINTEXT://${HOST}:${ports.kafka},CONTROLLER://${HOST}:${ports.kafkaController},SASL_PLAINTEXT://${HOST}:${ports.kafkaSasl}`,
    `advertised.listeners=PLAINTEXT://${HOST}:${ports.kafka},SASL_PLAINTEXT://${HOST}:${ports.kafkaSasl}`,
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
    "controller.listener.names=CONTROLLER",
    "inter.broker.listener.name=PLAINTEXT",
    "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
    `listener.name.sasl_plaintext.plain.sasl.jaas.config=${jaas("plain.PlainLoginModule", ` user_${username}="${password}"`)}`,
    `listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=${jaas("scram.ScramLoginModule")}`,
    `listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=${jaas("scram.ScramLoginModule")}`,
    `log.dirs=${logDir}`,
    "num.partitions=1",
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=1",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "share.coordinator.state.topic.replication.factor=1",
    "share.coordinator.state.topic.min.isr=1",
    "group.initial.rebalance.delay.ms=0",
    `auto.create.topics.enable=${extra["auto.create.topics.enable"] ?? "true"}`,
    ...Object.entries(extra)
      .filter(([key]) => key !== "auto.create.topics.enable")
      .map(([key, value]) => `${key}=${value}`),
    "",
  ].join("\n");
}

const log4jConfig = [
  "rootLogger.level = WARN",
  "rootLogger.appenderRef.stdout.ref = STDOUT",
  "appender.stdout.type = Console",
  "appender.stdout.name = STDOUT",
  "appender.stdout.layout.type = PatternLayout",
  "appender.stdout.layout.pattern = [%d] %p %m (%c)%n",
  "logger.server.name = kafka.server.KafkaRaftServer",
  "logger.server.level = INFO",
  "",
].join("\n");

/** A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (Kafka's Uuid format). */
function newClusterId(): string {
  return randomBytes(16).toString("base64url");
}

function runToCompletion(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    const output: string[] = [];
    child.stdout.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(output.join("")) : reject(new Error(`exit code ${code}: ${output.join("")}`)),
    );
  });
}

export interface StartKafkaOptions {
  /** Default: the shared test ports from config.ts. */
  readonly ports?: KafkaPorts;
  /**
   * Keep the log in this directory instead of a fresh one inside the run directory; it is formatted
   * only if it holds no `meta.properties` yet, so a restart finds its topics and messages again.
   */
  readonly dataDir?: string;
  /** Extra or overriding `server.properties` entries, e.g. `{"auto.create.topics.enable": "false"}`. */
  readonly properties?: Readonly<Record<string, string>>;
}

export async function startKafka(
  parentWatchJar: string,
  options: StartKafkaOptions = {},
): Promise<JavaServer> {
  const classpath = await kafkaClasspath();
  const listen = options.ports ?? ports;
  const runDir = await makeRunDir("kafka");
  const dataDir = options.dataDir ?? join(runDir, "data");
  const propertiesFile = join(runDir, "server.properties");
  const log4jFile = join(runDir, "log4j2.properties");
  await writeFile(propertiesFile, serverProperties(dataDir, listen, options.properties));
  await writeFile(log4jFile, log4jConfig);
  const jvmArgs = [`-Dlog4j2.configurationFile=${log4jFile}`, "-Xms256m", "-Xmx1g"];

  const { username, password } = kafkaSaslUser;
  const scram = (mechanism: string) => `${mechanism}=[name=${username},password=${password}]`;
  const formatted = options.dataDir !== undefined && existsSync(join(dataDir, "meta.properties"));
  try {
    if (!formatted)
      await runToCompletion(
        "java",
        [
          ...classDataSharingArgs("kafka-storage-tool", [classpath]).args,
          // A short-lived tool: the C1 compiler alone starts it faster.
          "-XX:TieredStopAtLevel=1",
          ...jvmArgs,
          "-cp",
          classpath,
          "kafka.tools.StorageTool",
          "format",
          // One argument: a base64url id may start with "-", which the tool's parser would take for an option.
          `--cluster-id=${newClusterId()}`,
          "--config",
          propertiesFile,
          "--add-scram",
          scram("SCRAM-SHA-256"),
          "--add-scram",
          scram("SCRAM-SHA-512"),
        ],
        runDir,
      );
  } catch (error) {
    await rm(runDir, { recursive: true, force: true });
    throw new Error(`formatting Kafka storage in ${dataDir} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }

  const server = startJavaServer(
    {
      name: "kafka",
      runDir,
      classpath: classpath.split(delimiter),
      jvmArgs,
      mainClass: "kafka.Kafka",
      args: [propertiesFile],
    },
    parentWatchJar,
  );
  const broker = `${HOST}:${listen.kafka}`;
  return readyOrStop(server, () => isKafkaUp(broker, 1000), {
    what: `Kafka broker on ${broker}`,
    timeoutMs: timeouts.kafkaReadyMs,
    intervalMs: 300,
  });
}

// Private server instances for fault-injection tests (test/faults/): a Kafka broker or a MongoDB
// stand-in on free loopback ports, owned by one test file, that the test may stop and restart
// without touching the shared servers. Data survives a restart: Kafka keeps its log directory, the
// stand-in keeps documents and oplog in an H2 MVStore file (or, with `persistent: false`, loses
// everything like the shared in-memory stand-in).
import { rm } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { HOST } from "./config.ts";
import { makeRunDir, type JavaServer } from "./java-server.ts";
import { startKafka, type KafkaPorts } from "./kafka.ts";
import { compileJava } from "./maven.ts";
import { startMongoStandIn } from "./mongo.ts";

const here = import.meta.dirname;

export interface PrivateServer {
  /** Stops the process (SIGTERM, as a crash-free restart would) and keeps the data. */
  stop(): Promise<void>;
  /** Starts it again on the same ports with the same data; resolves once it answers. */
  start(): Promise<void>;
  /** Stops it if running and deletes its data. */
  dispose(): Promise<void>;
  readonly running: boolean;
}

export interface PrivateKafka extends PrivateServer {
  readonly brokers: string[];
  /** The SASL_PLAINTEXT listener (PLAIN and SCRAM users from config.ts `kafkaSaslUser`). */
  readonly saslBrokers: string[];
}

export interface PrivateMongo extends PrivateServer {
  readonly uri: string;
}

/** A free TCP port on the loopback interface (the OS picks it; a tiny race remains until the server binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

let parentWatch: Promise<string> | undefined;
/** The jar of the watchdog that stops a Java server when its parent process dies (compiled once). */
export function parentWatchJar(): Promise<string> {
  return (parentWatch ??= compileJava("parent-watch", [join(here, "java", "ParentWatch.java")], ""));
}

/** One Kafka broker (KRaft) on three free ports, its log kept in a directory of its own across restarts. */
export async function startPrivateKafka(
  options: { properties?: Readonly<Record<string, string>> } = {},
): Promise<PrivateKafka> {
  const ports: KafkaPorts = {
    kafka: await freePort(),
    kafkaController: await freePort(),
    kafkaSasl: await freePort(),
  };
  const holder = await makeRunDir("kafka-data");
  const dataDir = join(holder, "log");
  const server = new RestartableServer(holder, async () =>
    startKafka(await parentWatchJar(), { ports, dataDir, properties: options.properties }),
  );
  await server.start();
  return Object.assign(server, {
    brokers: [`${HOST}:${ports.kafka}`],
    saslBrokers: [`${HOST}:${ports.kafkaSasl}`],
  });
}

/**
 * A MongoDB stand-in on a free port. `persistent` (default true) keeps documents and the oplog in an H2
 * MVStore file, so a restart loses nothing and change streams resume from tokens issued before it.
 */
export async function startPrivateMongo(options: { persistent?: boolean } = {}): Promise<PrivateMongo> {
  const port = await freePort();
  const holder = await makeRunDir("mongo-data");
  const h2File = options.persistent === false ? undefined : join(holder, "mongo.mv.db");
  const server = new RestartableServer(holder, async () =>
    startMongoStandIn(await parentWatchJar(), { port, h2File }),
  );
  await server.start();
  return Object.assign(server, { uri: `mongodb://${HOST}:${port}/?directConnection=true` });
}

class RestartableServer implements PrivateServer {
  private server: JavaServer | undefined;
  private readonly holder: string;
  private readonly launch: () => Promise<JavaServer>;

  constructor(holder: string, launch: () => Promise<JavaServer>) {
    this.holder = holder;
    this.launch = launch;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    this.server ??= await this.launch();
  }

  async stop(): Promise<void> {
    const running = this.server;
    this.server = undefined;
    await running?.stop();
  }

  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.holder, { recursive: true, force: true });
  }
}

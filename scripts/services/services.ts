// Brings up every service the tests use, in parallel, reusing servers that are already up, and
// returns their endpoints plus a stop() that stops only what this call started.
import { join } from "node:path";
import { HOST, kafkaSaslUser, ports, timeouts } from "./config.ts";
import type { JavaServer } from "./java-server.ts";
import { isKafkaUp, kafkaClasspath, startKafka } from "./kafka.ts";
import { dropLease, otherLeaseHolders, takeLease, withLock } from "./leases.ts";
import { compileJava } from "./maven.ts";
import { isMongoUp, mongoClasspath, standInUri, startMongoStandIn } from "./mongo.ts";
import { ensurePostgres, ensureRedis, postgresUrl, redisUrl } from "./system-services.ts";
import { setTimeout as sleep } from "node:timers/promises";

export interface KafkaSaslEndpoint {
  brokers: string[];
  username: string;
  password: string;
  mechanisms: string[];
}

export interface ServiceEndpoints {
  mongodbUri: string;
  /** True when mongodbUri is Eddy's mongo-java-server stand-in, false for MONGODB_URI. */
  mongoIsStandIn: boolean;
  kafkaBrokers: string[];
  /** The SASL_PLAINTEXT listener of the broker we run; undefined for external brokers. */
  kafkaSasl: KafkaSaslEndpoint | undefined;
  redisUrl: string;
  databaseUrl: string;
}

export interface RunningServices {
  endpoints: ServiceEndpoints;
  /** One line per service: "kafka: started in 9.1 s", "mongo: reused", "mongo: external". */
  summary: string[];
  stop(): Promise<void>;
}

const here = import.meta.dirname;

function env(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

async function timed(label: string, summary: string[], body: () => Promise<string>): Promise<void> {
  const start = Date.now();
  const what = await body();
  summary.push(
    `${label}: ${what}${what === "started" ? ` in ${((Date.now() - start) / 1000).toFixed(1)} s` : ""}`,
  );
}

export async function startServices(): Promise<RunningServices> {
  const externalMongo = env("MONGODB_URI");
  const externalKafka = env("KAFKA_BROKERS");
  const externalRedis = env("REDIS_URL");
  const externalPostgres = env("DATABASE_URL");
  const kafkaBroker = `${HOST}:${ports.kafka}`;
  const started: JavaServer[] = [];
  const summary: string[] = [];

  const lockTimeout = timeouts.mavenMs + timeouts.kafkaReadyMs;
  await withLock(lockTimeout, async () => {
    await takeLease();
    // Queue Maven in this order (the stand-in is quicker to fetch, so it can start first). On a warm
    // cache both resolve from the classpath cache without running mvn.
    const warmUp = [
      externalMongo ? undefined : mongoClasspath(),
      externalKafka ? undefined : kafkaClasspath(),
    ];
    for (const promise of warmUp) promise?.catch(() => undefined);
    let parentWatch: Promise<string> | undefined;
    const parentWatchJar = () =>
      (parentWatch ??= compileJava("parent-watch", [join(here, "java", "ParentWatch.java")], ""));

    const results = await Promise.allSettled([
      timed("mongo", summary, async () => {
        if (externalMongo) return "external (MONGODB_URI)";
        if (await isMongoUp(standInUri)) return "reused";
        started.push(await startMongoStandIn(await parentWatchJar()));
        return "started";
      }),
      timed("kafka", summary, async () => {
        if (externalKafka) return "external (KAFKA_BROKERS)";
        if (await isKafkaUp(kafkaBroker)) return "reused";
        started.push(await startKafka(await parentWatchJar()));
        return "started";
      }),
      timed("redis", summary, async () => {
        if (externalRedis) return "external (REDIS_URL)";
        await ensureRedis();
        return "ready";
      }),
      timed("postgres", summary, async () => {
        if (externalPostgres) return "external (DATABASE_URL)";
        await ensurePostgres();
        return "ready";
      }),
    ]);
    const failures = results.flatMap((result) =>
      result.status === "rejected" ? [result.reason as Error] : [],
    );
    if (failures.length > 0) {
      await Promise.all(started.map((server) => server.stop()));
      await dropLease();
      throw new Error(
        `test services failed to start:\n${failures.map((error) => error.message).join("\n\n")}`,
      );
    }
  });

  const endpoints: ServiceEndpoints = {
    mongodbUri: externalMongo ?? standInUri,
    mongoIsStandIn: externalMongo === undefined,
    kafkaBrokers: externalKafka ? externalKafka.split(",").map((broker) => broker.trim()) : [kafkaBroker],
    kafkaSasl: externalKafka
      ? undefined
      : {
          brokers: [`${HOST}:${ports.kafkaSasl}`],
          username: kafkaSaslUser.username,
          password: kafkaSaslUser.password,
          mechanisms: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"],
        },
    redisUrl: externalRedis ?? redisUrl,
    databaseUrl: externalPostgres ?? postgresUrl,
  };

  let stopped = false;
  return {
    endpoints,
    summary,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (started.length === 0) {
        await dropLease();
        return;
      }
      // Other runs may be using what we started: wait for their leases, under the lock so that no
      // new run joins between the check and the stop.
      let announced = false;
      while (true) {
        const done = await withLock(timeouts.stopMs, async () => {
          await dropLease();
          const others = await otherLeaseHolders();
          if (others.length > 0) return others;
          await Promise.all(started.map((server) => server.stop()));
          return [];
        });
        if (done.length === 0) return;
        if (!announced) {
          console.error(`test services: waiting for test runs ${done.join(", ")} before stopping`);
          announced = true;
        }
        await sleep(1000);
      }
    },
  };
}

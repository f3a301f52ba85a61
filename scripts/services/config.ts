// Where and how the test services run. Everything written at run time lives outside the repository:
// jars in ~/.m2 (Maven's default), classpaths and compiled launchers in the cache directory, server
// data and logs in a per-run temporary directory.
import { homedir, tmpdir, userInfo } from "node:os";
import { join } from "node:path";

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0 || value > 65535) {
    throw new Error(`${name} must be a TCP port number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export const HOST = "127.0.0.1";

export const ports = {
  kafka: intFromEnv("EDDY_KAFKA_PORT", 19092),
  kafkaController: intFromEnv("EDDY_KAFKA_CONTROLLER_PORT", 19093),
  kafkaSasl: intFromEnv("EDDY_KAFKA_SASL_PORT", 19094),
  mongo: intFromEnv("EDDY_MONGO_PORT", 27999),
  redis: 6379,
  postgres: 5432,
};

/** SASL user on the Kafka SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512). */
export const kafkaSaslUser = { username: "eddy", password: "eddy-secret" };

/** Version the MongoDB stand-in reports; see docs/testing.md ("Driver version"). */
export const mongoReportedVersion = { version: "4.4.0", wireVersion: 9 };

const cacheRoot = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");

/** Cached classpaths and compiled launchers; safe to delete. */
export const cacheDir = join(cacheRoot, "eddy", "services");

/** Lock and lease files shared by every test run of this user on this machine. */
export const stateDir = join(tmpdir(), `eddy-services-${userInfo().uid}`);

export const timeouts = {
  /** Maven may download ~60 jars on a cold cache. */
  mavenMs: 10 * 60_000,
  kafkaReadyMs: 120_000,
  mongoReadyMs: 60_000,
  systemServiceReadyMs: 30_000,
  stopMs: 20_000,
};

/**
 * A `Kafka` connection as ASP defines it (docs/asp-semantics.md §8): `bootstrapServers` (comma-separated), optional
 * `authentication {mechanism, username, password}` and `security {protocol, brokerPublicCertificate}`,
 * turned into client options. Settings may sit in `config` (Eddy's workspace shape) or at the top level.
 */
import { ConnectorError } from "../../runtime/errors.ts";
import type { Doc } from "../../mql/index.ts";

export type SaslMechanism = "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";

export interface KafkaClientOptions {
  readonly clientId: string;
  readonly bootstrapBrokers: string[];
  readonly sasl?: { readonly mechanism: SaslMechanism; readonly username: string; readonly password: string };
  readonly tls?: { readonly ca?: string; readonly rejectUnauthorized?: boolean };
}

/** A configuration problem: retrying cannot help, so the processor fails at once. */
export class KafkaConnectionError extends ConnectorError {
  override readonly name = "KafkaConnectionError";

  constructor(message: string) {
    super(message, { retryable: false });
  }
}

const MECHANISMS: Readonly<Record<string, SaslMechanism>> = {
  PLAIN: "PLAIN",
  "SCRAM-256": "SCRAM-SHA-256",
  "SCRAM-SHA-256": "SCRAM-SHA-256",
  "SCRAM-512": "SCRAM-SHA-512",
  "SCRAM-SHA-512": "SCRAM-SHA-512",
};

const PROTOCOLS = ["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"] as const;

export function kafkaClientOptions(connection: Doc, clientId: string): KafkaClientOptions {
  const settings = { ...connection, ...((connection.config as Doc | undefined) ?? {}) };
  const servers = settings.bootstrapServers;
  if (typeof servers !== "string" || servers.trim() === "") {
    throw new KafkaConnectionError(
      'Kafka connection needs bootstrapServers, a comma-separated "host:port" list (e.g. "127.0.0.1:9092")',
    );
  }
  const bootstrapBrokers = servers
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const security = (settings.security as Doc | undefined) ?? {};
  const protocol = String(security.protocol ?? (settings.authentication ? "SASL_PLAINTEXT" : "PLAINTEXT"));
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new KafkaConnectionError(
      `security.protocol must be one of ${PROTOCOLS.join(", ")}, got ${protocol}`,
    );
  }
  const options: { -readonly [K in keyof KafkaClientOptions]: KafkaClientOptions[K] } = {
    clientId,
    bootstrapBrokers,
  };
  if (protocol.startsWith("SASL")) options.sasl = saslOptions(settings.authentication);
  if (protocol === "SASL_SSL" || protocol === "SSL") {
    const ca = security.brokerPublicCertificate;
    options.tls = typeof ca === "string" && ca !== "" ? { ca } : {};
  }
  return options;
}

/**
 * The assignors a scaled-out processor's group members offer (its readers' and its partition feeds'):
 * cooperative-sticky first, for incremental rebalances (KIP-429: a member keeps the partitions it can and gives
 * up only those that move, in a round of their own, so nothing else stops or is read again;
 * docs/scale-out.md), then round-robin, so a group whose other members offer only that one (an older Eddy,
 * mid-upgrade) still forms.
 */
export const INCREMENTAL_REBALANCE_PROTOCOLS = [
  { name: "cooperative-sticky", version: 3 },
  { name: "roundrobin", version: 1 },
] as const;

/** Consumer-group timing: how fast the broker notices a consumer that died (see `consumerTuning`). */
export interface KafkaConsumerTuning {
  readonly sessionTimeout: number;
  readonly heartbeatInterval: number;
  readonly rebalanceTimeout: number;
}

/**
 * `session.timeout.ms` and `heartbeat.interval.ms` from the connection's `config` (ASP's allow-listed Kafka
 * keys). Eddy's default session timeout is 10 s rather than the clients' 45–60 s: a processor restarted
 * after a crash (or taken over by a standby) rejoins its group, and the broker hands the partitions over
 * only once the dead member's session has timed out.
 */
export function consumerTuning(connection: Doc): KafkaConsumerTuning {
  const config = (connection.config as Doc | undefined) ?? {};
  const number = (key: string, fallback: number): number => {
    const value = config[key];
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed <= 0) {
      throw new KafkaConnectionError(
        `config.${key} must be a positive integer (milliseconds), got ${String(value)}`,
      );
    }
    return parsed;
  };
  const sessionTimeout = number("session.timeout.ms", 10_000);
  const heartbeatInterval = number("heartbeat.interval.ms", Math.max(1, Math.floor(sessionTimeout / 3)));
  if (heartbeatInterval >= sessionTimeout) {
    throw new KafkaConnectionError(
      `config.heartbeat.interval.ms (${heartbeatInterval}) must be lower than session.timeout.ms (${sessionTimeout})`,
    );
  }
  return { sessionTimeout, heartbeatInterval, rebalanceTimeout: Math.max(sessionTimeout, 30_000) };
}

function saslOptions(value: unknown): NonNullable<KafkaClientOptions["sasl"]> {
  const auth = (value ?? {}) as Doc;
  const mechanism = MECHANISMS[String(auth.mechanism ?? "PLAIN").toUpperCase()];
  if (!mechanism) {
    throw new KafkaConnectionError(
      `authentication.mechanism must be PLAIN, SCRAM-256 or SCRAM-512, got ${String(auth.mechanism)}`,
    );
  }
  if (typeof auth.username !== "string" || typeof auth.password !== "string") {
    throw new KafkaConnectionError("authentication needs username and password (use {{VAR}} for secrets)");
  }
  return { mechanism, username: auth.username, password: auth.password };
}

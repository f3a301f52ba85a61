/**
 * An OTLP connection's settings (`{name, type: "OTLP", config: {...}}`), with the defaults that make it
 * safe: loopback only, bounded bodies and spool, and authentication required before listening anywhere else.
 */
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { isPlainObject } from "../../mql/bson-types.ts";
import type { Doc } from "../../mql/index.ts";

export const OTLP_CONNECTION_TYPE = "OTLP";
export const DEFAULT_OTLP_PORT = 4318;

export interface OtlpConfig {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** Largest body accepted as sent (compressed or not). */
  readonly maxBodyBytes: number;
  /** Largest body after gzip decompression (the bound against gzip bombs). */
  readonly maxDecompressedBytes: number;
  readonly spool: { readonly dir: string; readonly maxBytes: number; readonly segmentBytes: number };
  /** Accepted `Authorization: Bearer` tokens; empty with apiKeys empty ⇒ no authentication. */
  readonly bearerTokens: readonly string[];
  readonly apiKeys: readonly string[];
  /** The header carrying an API key, lowercase. */
  readonly apiKeyHeader: string;
  /** Per client (token, else remote address); undefined ⇒ no limit. */
  readonly rateLimit: { readonly requestsPerSecond: number; readonly burst: number } | undefined;
  /** Seconds announced in `Retry-After` of 429 and 503 answers. */
  readonly retryAfterSeconds: number;
}

/** A setting that is wrong, with its path inside `config`. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

const MiB = 1024 * 1024;

/** Reads the settings; `problems` lists everything wrong (the config is usable only when it is empty). */
export function readOtlpConfig(
  connectionName: string,
  raw: Doc | undefined,
): { config: OtlpConfig; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const settings: Doc = raw ?? {};
  const number = (
    key: string,
    fallback: number,
    min: number,
    max = Number.MAX_SAFE_INTEGER,
    from = settings,
    prefix = "",
  ): number => {
    const value = from[key];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      problems.push({
        path: `${prefix}${key}`,
        message: `${prefix}${key} must be an integer from ${min} to ${max}`,
      });
      return fallback;
    }
    return value;
  };
  const strings = (key: string): string[] => {
    const value = settings[key];
    if (value === undefined) return [];
    if (!Array.isArray(value) || value.some((item) => typeof item !== "string" || item === "")) {
      problems.push({ path: key, message: `${key} must be an array of non-empty strings` });
      return [];
    }
    return value as string[];
  };
  const host = settings.host ?? "127.0.0.1";
  if (typeof host !== "string" || host === "")
    problems.push({ path: "host", message: "host must be a host name or IP address" });
  const spoolSettings = settings.spool ?? {};
  if (!isPlainObject(spoolSettings))
    problems.push({ path: "spool", message: "spool must be an object {dir, maxBytes}" });
  const spool = isPlainObject(spoolSettings) ? spoolSettings : {};
  if (spool.dir !== undefined && (typeof spool.dir !== "string" || spool.dir === ""))
    problems.push({ path: "spool.dir", message: "spool.dir must be a directory path" });
  let rateLimit: OtlpConfig["rateLimit"];
  if (settings.rateLimit !== undefined) {
    if (!isPlainObject(settings.rateLimit)) {
      problems.push({ path: "rateLimit", message: "rateLimit must be an object {requestsPerSecond, burst}" });
    } else {
      const perSecond = number("requestsPerSecond", 100, 1, 1_000_000, settings.rateLimit, "rateLimit.");
      rateLimit = {
        requestsPerSecond: perSecond,
        burst: number("burst", perSecond, 1, 1_000_000, settings.rateLimit, "rateLimit."),
      };
    }
  }
  const config: OtlpConfig = {
    host: typeof host === "string" ? host : "127.0.0.1",
    port: number("port", DEFAULT_OTLP_PORT, 0, 65535),
    maxBodyBytes: number("maxBodyBytes", 8 * MiB, 1024),
    maxDecompressedBytes: number("maxDecompressedBytes", 32 * MiB, 1024),
    spool: {
      dir:
        typeof spool.dir === "string" && spool.dir !== ""
          ? resolve(spool.dir)
          : resolve(process.env.EDDY_DATA_DIR ?? ".eddy", "otlp", safeDirName(connectionName)),
      maxBytes: number("maxBytes", 1024 * MiB, MiB, Number.MAX_SAFE_INTEGER, spool, "spool."),
      segmentBytes: number("segmentBytes", 64 * MiB, 64 * 1024, 1024 * MiB, spool, "spool."),
    },
    bearerTokens: strings("bearerTokens"),
    apiKeys: strings("apiKeys"),
    apiKeyHeader: (typeof settings.apiKeyHeader === "string"
      ? settings.apiKeyHeader
      : "x-api-key"
    ).toLowerCase(),
    rateLimit,
    retryAfterSeconds: number("retryAfterSeconds", 1, 1, 3600),
  };
  if (!isLoopbackHost(config.host) && config.bearerTokens.length === 0 && config.apiKeys.length === 0)
    problems.push({
      path: "host",
      message:
        `listening on '${config.host}' (not loopback) needs authentication: set bearerTokens or apiKeys ` +
        '(e.g. ["{{OTLP_TOKEN}}"])',
    });
  return { config, problems };
}

export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
}

function safeDirName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** The spool directory of one signal. */
export const signalSpoolDir = (config: OtlpConfig, signal: string): string => join(config.spool.dir, signal);

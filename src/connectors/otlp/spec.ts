/**
 * OTLP: Eddy's OpenTelemetry receiver (OTLP/HTTP, protobuf and JSON) as a `$source`
 * `{connectionName, signal: "traces" | "metrics" | "logs"}`. docs/otlp.md.
 */
import type { ConnectionSettings, SettingProblem } from "../../pipeline/connector-specs.ts";
import { defineConnector } from "../spec.ts";
import { readOtlpConfig } from "./config.ts";
import { SIGNALS, type Signal } from "./signals.ts";

export interface OtlpSourceOptions {
  readonly signal: Signal;
  /** Create the signal's indexes on a raw-ingest `$merge` target when the processor starts (default true). */
  readonly createIndexes: boolean;
}

export const otlp = defineConnector<OtlpSourceOptions>({
  type: "OTLP",
  aliases: ["otlp"],
  description: "OpenTelemetry ingest: an OTLP/HTTP receiver (traces, metrics, logs) with a durable spool.",
  connection: {
    properties: {
      host: {
        type: "string",
        description: "Listen address (default 127.0.0.1; others need bearerTokens or apiKeys).",
      },
      port: { type: "integer", minimum: 0, maximum: 65535, description: "Port (default 4318)." },
      maxBodyBytes: { type: "integer", description: "Largest body as sent (default 8 MiB)." },
      maxDecompressedBytes: { type: "integer", description: "Largest body after gzip (default 32 MiB)." },
      spool: { type: "object", description: "`{dir, maxBytes, segmentBytes}` of the on-disk spool." },
      bearerTokens: { type: "array", items: { type: "string" }, description: "Accepted bearer tokens." },
      apiKeys: { type: "array", items: { type: "string" }, description: "Accepted API keys." },
      apiKeyHeader: { type: "string", description: "Header carrying an API key (default x-api-key)." },
      rateLimit: { type: "object", description: "`{requestsPerSecond, burst}` per client." },
      retryAfterSeconds: {
        type: "integer",
        minimum: 1,
        description: "Retry-After of 503 answers (default 1).",
      },
    },
  },
  checkConnection: checkOtlp,
  source: {
    fields: {
      properties: {
        signal: { enum: [...SIGNALS], description: "Which signal to read." },
        createIndexes: {
          type: "boolean",
          description:
            "Create the trace id and service + time indexes on the `$merge` target of a raw-ingest processor at start (default true).",
        },
      },
      required: ["signal"],
    },
    plan: (spec) => {
      const signal = spec.enumOf("signal", SIGNALS, true);
      const createIndexes = spec.bool("createIndexes") ?? true;
      if (spec.hasIssuesSinceOpen() || !signal) return undefined;
      return { options: { signal, createIndexes } };
    },
  },
  async openSource(source, ctx) {
    const { OtlpSource } = await import("./source.ts");
    const name = source.connectionName ?? "otlp";
    const { config, problems } = readOtlpConfig(name, ctx.settings);
    if (problems.length > 0) {
      const { UnavailableConnectorError } = await import("../factory.ts");
      throw new UnavailableConnectorError(
        `connection '${name}': ${problems.map((p) => `config.${p.path}: ${p.message}`).join("; ")}`,
      );
    }
    if (source.options.createIndexes && ctx.clients) {
      const { rawIngestTarget, ensureSignalIndexes } = await import("./indexes.ts");
      const target = rawIngestTarget(ctx.plan);
      // In the background: an unreachable MongoDB must not keep the receiver from answering exporters.
      if (target)
        ensureSignalIndexes(
          ctx.clients.mongoClient(target.connectionName),
          target,
          source.options.signal,
        ).catch(async (error: unknown) => {
          const { jsonLogger } = await import("../../runtime/log.ts");
          jsonLogger().warn("OTLP: the telemetry indexes could not be created; the next start tries again", {
            processor: ctx.plan.name,
            target: `${target.db}.${target.coll}`,
            error: (error as Error).message,
          });
        });
    }
    const offset = ctx.positions.offset;
    return new OtlpSource(name, config, source.options.signal, {
      readerId: ctx.plan.name,
      offset: typeof offset === "number" ? offset : undefined,
    });
  },
});

function checkOtlp({ name, settings, pathOf }: ConnectionSettings): SettingProblem[] {
  return readOtlpConfig(name, settings).problems.map((problem) => ({
    path: pathOf(problem.path),
    message: problem.message,
  }));
}

/**
 * Kafka: a `Kafka` connection (docs/asp-semantics.md §1.2, §3.2), `$source` reading topics and `$emit` writing one.
 * Pure: the client modules are imported when a source or sink is opened.
 */
import { isPlainObject } from "../../mql/bson-types.ts";
import type { Evaluator } from "../../mql/index.ts";
import type { PlanContext } from "../../pipeline/context.ts";
import { readDuration } from "../../pipeline/duration.ts";
import type { Spec } from "../../pipeline/spec.ts";
import { compileOption, compileStringOrExpression } from "../../pipeline/stages/expressions.ts";
import { TwoPhaseCheckpoints } from "../../runtime/two-phase-checkpoints.ts";
import { defineConnector } from "../spec.ts";
import { required } from "../open-helpers.ts";
import { requireStringSetting } from "../setting-checks.ts";
import { DOCUMENT_RETRY_SETTINGS, documentRetryPolicy } from "../document-retries.ts";
import { kafkaClientOptions } from "./connection.ts";

/** How a record key is decoded (`$source`) or encoded (`$emit`); `double` is read-only. */
export const KEY_FORMATS = ["binData", "string", "json", "int", "long", "double"] as const;
export type KeyFormat = (typeof KEY_FORMATS)[number];
const EMIT_KEY_FORMATS = ["binData", "string", "json", "int", "long"] as const;
const OFFSET_RESETS = ["earliest", "beginning", "smallest", "latest", "end", "largest"] as const;
const OUTPUT_FORMATS = ["relaxedJson", "canonicalJson"] as const;
const DATE_FORMATS = ["default", "ISO8601"] as const;
const ACKS = ["all", "-1", "0", "1"] as const;
const COMPRESSION = ["none", "gzip", "snappy", "lz4", "zstd"] as const;

export interface KafkaSourceOptions {
  readonly topics: readonly string[];
  readonly config: {
    readonly auto_offset_reset: (typeof OFFSET_RESETS)[number];
    /** Undefined for an ephemeral processor that set none: it reads alone from `auto_offset_reset`. */
    readonly group_id: string | undefined;
    readonly enable_auto_commit: boolean;
    readonly keyFormat: KeyFormat;
    readonly keyFormatError: "dlq" | "passThrough";
  };
}

export interface KafkaEmitOptions {
  /** As written: a topic name or an expression (compiled in the plan's `evaluators.topic`). */
  readonly topic: unknown;
  readonly config: {
    readonly keyFormat: Exclude<KeyFormat, "double">;
    readonly outputFormat: (typeof OUTPUT_FORMATS)[number];
    readonly dateFormat: (typeof DATE_FORMATS)[number];
    readonly acks: (typeof ACKS)[number];
    readonly compression_type: (typeof COMPRESSION)[number];
    /** Eddy extension: Kafka transactions, one per checkpoint (docs/checkpoints.md). */
    readonly exactlyOnce: boolean;
    readonly transactionalId: string | undefined;
  };
}

const stringOrExpression = { anyOf: [{ type: "string" }, { type: "object" }] };

/** `options.dlq {connectionName, topic}` (an Eddy extension): one message per dead letter. */
export interface KafkaDlqTarget {
  readonly topic: string;
}

export const kafka = defineConnector<KafkaSourceOptions, KafkaEmitOptions, KafkaDlqTarget>({
  type: "Kafka",
  aliases: ["kafka"],
  description: "An Apache Kafka cluster (any Kafka-protocol broker): `$source` topics, `$emit` to a topic.",
  connection: {
    properties: {
      bootstrapServers: { type: "string", description: 'Comma-separated "host:port" list.' },
      authentication: {
        type: "object",
        description: "SASL: `{mechanism: PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512, username, password}`.",
        properties: {
          mechanism: { type: "string" },
          username: { type: "string" },
          password: { type: "string" },
        },
      },
      security: {
        type: "object",
        description: "`{protocol: PLAINTEXT | SASL_PLAINTEXT | SASL_SSL | SSL, brokerPublicCertificate}`.",
        properties: { protocol: { type: "string" }, brokerPublicCertificate: { type: "string" } },
      },
      networking: { type: "object", description: "Accepted for ASP compatibility; not used." },
      ...DOCUMENT_RETRY_SETTINGS,
    },
    required: ["bootstrapServers"],
  },
  checkConnection(connection) {
    const missing = requireStringSetting(
      connection,
      "bootstrapServers",
      'a Kafka connection needs bootstrapServers, a comma-separated "host:port" list',
    );
    if (missing.length > 0) return missing;
    const { settings, pathOf } = connection;
    try {
      kafkaClientOptions(settings, "eddy-validate");
      return [];
    } catch (error) {
      const message = (error as Error).message;
      const key = /mechanism|username|password|authentication/.test(message) ? "authentication" : "security";
      return [{ path: pathOf(key), message }];
    }
  },
  source: {
    fields: {
      properties: {
        topic: {
          anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }],
          description: "Topic name, or a list of names.",
        },
        partitionIdleTimeout: {
          type: "object",
          description: "`{size, unit}`: how long a quiet partition holds the watermark back.",
        },
        config: {
          type: "object",
          additionalProperties: false,
          description:
            "`auto_offset_reset` (default latest), `group_id` (default `asp-<name>-consumer`), " +
            "`enable_auto_commit`, `keyFormat` (default binData), `keyFormatError` (dlq | passThrough).",
          properties: {
            auto_offset_reset: { enum: [...OFFSET_RESETS] },
            group_id: { type: "string" },
            enable_auto_commit: { type: "boolean" },
            keyFormat: { enum: [...KEY_FORMATS] },
            keyFormatError: { enum: ["dlq", "passThrough"] },
          },
        },
        partitionCount: { type: "integer", description: "Accepted for ASP compatibility." },
        schemaRegistry: { type: "object", description: "`{connectionName}`; accepted, not used yet." },
      },
      required: ["topic"],
    },
    plan: planKafkaSource,
  },
  emit: {
    operatorName: "KafkaEmitOperator",
    mentionOrder: -1,
    fields: {
      properties: {
        topic: { ...stringOrExpression, description: "Topic name, or an expression giving it per document." },
        config: {
          type: "object",
          additionalProperties: false,
          description:
            "`key` + `keyFormat`, `headers`, `outputFormat` (relaxedJson), `dateFormat`, `acks` (all), " +
            "`compression_type` (none), `tombstoneWhen`; Eddy: `exactlyOnce`, `transactionalId`.",
          properties: {
            key: {},
            keyFormat: { enum: [...EMIT_KEY_FORMATS] },
            headers: stringOrExpression,
            outputFormat: { enum: [...OUTPUT_FORMATS] },
            dateFormat: { enum: [...DATE_FORMATS] },
            acks: { anyOf: [{ enum: [...ACKS] }, { enum: [-1, 0, 1] }] },
            compression_type: { enum: [...COMPRESSION] },
            tombstoneWhen: {},
            exactlyOnce: { type: "boolean" },
            transactionalId: { type: "string", minLength: 1 },
          },
        },
      },
      required: ["topic"],
    },
    plan: planKafkaEmit,
  },
  dlq: {
    fields: { properties: { topic: { type: "string", minLength: 1 } }, required: ["topic"] },
    mismatch: "A dead letter queue topic needs a Kafka connection",
    plan(dlq) {
      const topic = dlq.string("topic", true);
      if (topic === "") dlq.error("topic", "the dead letter queue topic must not be empty");
      return topic ? { topic } : undefined;
    },
  },
  async openSource(source, ctx) {
    const [{ KafkaSource }, { randomUUID }] = await Promise.all([
      import("./source.ts"),
      import("node:crypto"),
    ]);
    const clients = required(ctx.clients);
    const connection = source.connectionName ?? "";
    return new KafkaSource(clients.kafka(connection, `eddy-${ctx.plan.name}`), source, {
      ...(ctx.groupId !== undefined ? { groupId: ctx.groupId } : {}),
      // An ephemeral processor without group_id reads alone, from auto_offset_reset.
      fallbackGroupId: `eddy-process-${ctx.plan.name}-${randomUUID()}`,
      tuning: clients.kafkaConsumerTuning(connection),
      startOffsets: ctx.positions.offsets as Record<string, string> | undefined,
    });
  },
  async openSink(sink, ctx) {
    const { KafkaEmitSink, exactlyOnceSettings } = await import("./emit-sink.ts");
    return new KafkaEmitSink(
      required(ctx.clients).kafka(sink.connectionName, `eddy-${ctx.plan.name}`),
      sink,
      {
        exactlyOnce: exactlyOnceSettings(ctx.plan.name, sink),
        documentRetries: documentRetryPolicy(ctx.settings),
      },
    );
  },
  async openCheckpoints(sink, plan, settings, slots) {
    const { exactlyOnceSettings } = await import("./emit-sink.ts");
    const exactlyOnce = exactlyOnceSettings(plan.name, sink);
    if (!exactlyOnce) return undefined;
    const { fenceAndReadMarker } = await import("./transactions.ts");
    const client = kafkaClientOptions(settings, `eddy-${plan.name}`);
    return new TwoPhaseCheckpoints([slots(0), slots(1)], () => fenceAndReadMarker(client, exactlyOnce));
  },
  async openDlq(target, ctx) {
    const { KafkaDlqWriter } = await import("./dlq-writer.ts");
    return new KafkaDlqWriter(
      ctx.clients.kafka(target.connectionName, `eddy-${ctx.plan.name}-dlq`),
      target.topic,
    );
  },
});

/** `$source` on a Kafka connection, with ASP's defaults filled into `config`. */
function planKafkaSource(spec: Spec, ctx: PlanContext) {
  const topic = spec.stringOrStrings("topic", true);
  const topics = typeof topic === "string" ? [topic] : topic;
  if (topics?.length === 0) spec.error("topic", "$source.topic must name at least one topic");
  const idle = readDuration(spec, "partitionIdleTimeout");
  spec.int("partitionCount");
  spec.object("schemaRegistry", ["connectionName"])?.string("connectionName", true);
  const config = readSourceConfig(spec, ctx);
  if (spec.hasIssuesSinceOpen() || !topics || !config) return undefined;
  return { options: { topics, config }, partitionIdleTimeoutMs: idle?.ms };
}

function readSourceConfig(spec: Spec, ctx: PlanContext): KafkaSourceOptions["config"] | undefined {
  const config = spec.has("config")
    ? spec.object("config", [
        "auto_offset_reset",
        "group_id",
        "enable_auto_commit",
        "keyFormat",
        "keyFormatError",
      ])
    : undefined;
  if (spec.has("config") && !config) return undefined;
  const groupId = config?.string("group_id");
  const autoCommit = config?.bool("enable_auto_commit");
  if (autoCommit !== undefined && groupId === undefined) {
    config?.error("enable_auto_commit", "enable_auto_commit can only be set together with group_id");
  }
  return {
    auto_offset_reset: config?.enumOf("auto_offset_reset", OFFSET_RESETS) ?? "latest",
    // Persistent processors get ASP's dedicated consumer group; ephemeral ones none unless set.
    group_id: groupId ?? (ctx.ephemeral ? undefined : `asp-${ctx.processorName}-consumer`),
    enable_auto_commit: autoCommit ?? !(ctx.ephemeral && groupId === undefined),
    keyFormat: config?.enumOf("keyFormat", KEY_FORMATS) ?? "binData",
    keyFormatError: config?.enumOf("keyFormatError", ["dlq", "passThrough"] as const) ?? "dlq",
  };
}

/** `$emit` to Kafka: `topic` (literal or expression) and `config`, defaults applied. */
function planKafkaEmit(
  spec: Spec,
  ctx: PlanContext,
  evaluators: Record<string, Evaluator>,
): KafkaEmitOptions | undefined {
  compileStringOrExpression(ctx, spec, "topic", evaluators, true);
  const config = readEmitConfig(spec, ctx, evaluators);
  return config && { topic: spec.raw("topic"), config };
}

function readEmitConfig(
  spec: Spec,
  ctx: PlanContext,
  evaluators: Record<string, Evaluator>,
): KafkaEmitOptions["config"] | undefined {
  const defaults: KafkaEmitOptions["config"] = {
    keyFormat: "binData",
    outputFormat: "relaxedJson",
    dateFormat: "default",
    acks: "all",
    compression_type: "none",
    exactlyOnce: false,
    transactionalId: undefined,
  };
  if (!spec.has("config")) return defaults;
  const config = spec.object("config", [
    "key",
    "keyFormat",
    "headers",
    "outputFormat",
    "dateFormat",
    "acks",
    "compression_type",
    "tombstoneWhen",
    "exactlyOnce",
    "transactionalId",
  ]);
  if (!config) return undefined;
  if (config.has("key") && !config.has("keyFormat")) {
    config.error("key", "Expected config.keyFormat to be specified when config.key is specified");
  }
  compileOption(ctx, config, "key", evaluators, "config.key");
  const keyFormat = config.enumOf("keyFormat", EMIT_KEY_FORMATS);
  const headers = config.raw("headers");
  if (headers !== undefined && typeof headers !== "string" && !isPlainObject(headers))
    config.wrongType("headers", "[object, string]");
  else compileOption(ctx, config, "headers", evaluators, "config.headers");
  const outputFormat = config.enumOf("outputFormat", OUTPUT_FORMATS);
  const dateFormat = config.enumOf("dateFormat", DATE_FORMATS);
  const rawAcks = config.raw("acks");
  const acks = ACKS.find((value) => value === String(rawAcks));
  if (rawAcks !== undefined && acks === undefined) {
    config.error(
      "acks",
      `Enumeration value '${String(rawAcks)}' for field '${config.fieldCtx("acks")}' is not a valid value.`,
    );
  }
  const compression = config.enumOf("compression_type", COMPRESSION);
  compileOption(ctx, config, "tombstoneWhen", evaluators, "config.tombstoneWhen");
  const exactlyOnce = config.bool("exactlyOnce");
  const transactionalId = config.string("transactionalId");
  if (transactionalId !== undefined && exactlyOnce !== true)
    config.error("transactionalId", "config.transactionalId needs config.exactlyOnce: true");
  if (transactionalId === "") config.error("transactionalId", "config.transactionalId must not be empty");
  if (exactlyOnce === true && rawAcks !== undefined && acks !== "all" && acks !== "-1") {
    config.error(
      "acks",
      `config.exactlyOnce needs acks 'all' (Kafka transactions require it), got '${String(rawAcks)}'; remove acks or set it to 'all'`,
    );
  }
  return {
    keyFormat: keyFormat ?? defaults.keyFormat,
    outputFormat: outputFormat ?? defaults.outputFormat,
    dateFormat: dateFormat ?? defaults.dateFormat,
    acks: acks ?? defaults.acks,
    compression_type: compression ?? defaults.compression_type,
    exactlyOnce: exactlyOnce ?? false,
    transactionalId,
  };
}

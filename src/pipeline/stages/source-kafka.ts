import type { Doc } from "../../mql/index.ts";
import type { PlanContext } from "../context.ts";
import { readDuration } from "../duration.ts";
import type { SourcePlan } from "../plan.ts";
import { Spec } from "../spec.ts";
import { COMMON_SOURCE_FIELDS, planSourceCommon } from "./source.ts";

export const KAFKA_FIELDS = [
  "topic",
  "partitionIdleTimeout",
  "config",
  "partitionCount",
  "schemaRegistry",
] as const;
const OFFSET_RESETS = ["earliest", "beginning", "smallest", "latest", "end", "largest"] as const;
const KEY_FORMATS = ["binData", "string", "json", "int", "long", "double"] as const;

/** `$source` on a Kafka connection (asp-compat §1.2), with ASP's defaults filled into `config`. */
export function planKafkaSource(
  value: unknown,
  path: string,
  ctx: PlanContext,
  connectionName: string,
): SourcePlan | undefined {
  const spec = Spec.open(value, path, "$source", ctx.issues, [...COMMON_SOURCE_FIELDS, ...KAFKA_FIELDS]);
  if (!spec) return undefined;
  const topic = spec.stringOrStrings("topic", true);
  const topics = typeof topic === "string" ? [topic] : topic;
  if (topics?.length === 0) spec.error("topic", "$source.topic must name at least one topic");
  const idle = readDuration(spec, "partitionIdleTimeout");
  spec.int("partitionCount");
  spec.object("schemaRegistry", ["connectionName"])?.string("connectionName", true);
  const config = readKafkaConfig(spec, ctx);
  const common = planSourceCommon(spec, ctx);
  if (spec.hasIssuesSinceOpen() || !common || !topics || !config) return undefined;
  return { kind: "kafka", connectionName, topics, partitionIdleTimeoutMs: idle?.ms, config, ...common };
}

function readKafkaConfig(spec: Spec, ctx: PlanContext): Doc | undefined {
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

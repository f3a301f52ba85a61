import { catalogOf } from "../../src/pipeline/connections.ts";
import { planProcessor, PlanError, type PlanIssue } from "../../src/pipeline/index.ts";
import type { ProcessorPlan } from "../../src/pipeline/plan.ts";
import { CONNECTORS } from "../../src/connectors/registry.ts";

/** A registry with one connection of every type. */
export const CONNECTIONS = catalogOf([
  { name: "atlas", type: "Cluster", config: {} },
  { name: "kafka", type: "Kafka", config: {} },
  { name: "api", type: "Https", config: { url: "http://localhost" } },
  { name: "lines", type: "File", config: { path: "-" } },
  { name: "lambda", type: "AWSLambda", config: {} },
  { name: "bucket", type: "S3", config: {} },
]);

export const SOURCE = { $source: { connectionName: "sample_stream_solar" } };
export const MERGE = { $merge: { into: { connectionName: "atlas", db: "d", coll: "c" } } };
export const GROUP = { $group: { _id: "$device_id", n: { $sum: 1 } } };
export const TUMBLING = { $tumblingWindow: { interval: { size: 1, unit: "second" }, pipeline: [GROUP] } };

export function plan(
  pipeline: unknown[],
  options: { ephemeral?: boolean; dlq?: boolean } = {},
): ProcessorPlan {
  const definition = {
    name: "p",
    pipeline,
    options: options.dlq ? { dlq: { connectionName: "atlas", db: "d", coll: "dlq" } } : {},
  };
  return planProcessor(definition, {
    connectors: CONNECTORS,
    connections: CONNECTIONS,
    ephemeral: options.ephemeral,
  });
}

/** Every issue planning `pipeline` reports ([] when it plans). */
export function issues(
  pipeline: unknown[],
  options: { ephemeral?: boolean; dlq?: boolean } = {},
): PlanIssue[] {
  try {
    plan(pipeline, options);
    return [];
  } catch (error) {
    if (error instanceof PlanError) return error.errors.map(({ path, message }) => ({ path, message }));
    throw error;
  }
}

/** Issues of a pipeline `$source → stage → $merge`, the usual frame for testing one stage. */
export function stageIssues(stage: unknown, options: { dlq?: boolean } = {}): PlanIssue[] {
  return issues([SOURCE, stage, MERGE], options);
}

/**
 * What dropping a scaled-out processor removes from Kafka (docs/scale-out.md): its internal repartition topic
 * and the consumer groups Eddy named for it. A `group_id` the `$source` configures is the user's and stays.
 * Every resource's outcome is reported; a failure does not stop the drop.
 */
import { ConnectorClients } from "../../connectors/clients.ts";
import {
  deleteKafkaResources,
  type KafkaCleanupOptions,
  type KafkaCleanupResult,
} from "../../connectors/kafka/internal-resources.ts";
import { repartitionTopic } from "../../connectors/kafka/repartition.ts";
import type { Doc } from "../../mql/index.ts";
import type { ConnectionCatalog } from "../../pipeline/plan.ts";

/** One Kafka resource of a dropped processor: what became of it. */
export type KafkaDropResult =
  | KafkaCleanupResult
  | {
      readonly kind: "consumer group";
      readonly name: string;
      readonly result: "kept";
      readonly reason: string;
    };

/** The parts of a processor record the cleanup reads. */
export interface ScaledDefinition {
  readonly name: string;
  readonly pipeline: readonly unknown[];
}

/**
 * Deletes the repartition topic `eddy-<name>-repartition`, the group `eddy-<name>-repartition-consumer` and
 * the source's group when Eddy named it (`asp-<name>-consumer`). Undefined when the source is not Kafka.
 */
export async function dropScaledKafkaResources(
  definition: ScaledDefinition,
  catalog: ConnectionCatalog,
  options: KafkaCleanupOptions = {},
): Promise<KafkaDropResult[] | undefined> {
  const source = (definition.pipeline[0] as { $source?: Doc } | undefined)?.$source;
  const connection = typeof source?.connectionName === "string" ? source.connectionName : undefined;
  if (!connection) return undefined;
  const entry = catalog.get(connection);
  if (entry && entry.type !== "Kafka") return undefined;
  const configured = ((source?.config as Doc | undefined)?.group_id ?? undefined) as string | undefined;
  const topics = [repartitionTopic(definition.name)];
  const groups = [
    `eddy-${definition.name}-repartition-consumer`,
    ...(configured === undefined ? [`asp-${definition.name}-consumer`] : []),
  ];
  const kept: KafkaDropResult[] =
    configured === undefined
      ? []
      : [
          {
            kind: "consumer group",
            name: configured,
            result: "kept",
            reason: "the $source's config.group_id is yours (delete it with kafka-consumer-groups --delete)",
          },
        ];
  if (!entry) {
    const error = `the connection '${connection}' no longer exists`;
    return [
      ...topics.map((name) => ({ kind: "topic" as const, name, result: "failed" as const, error })),
      ...groups.map((name) => ({ kind: "consumer group" as const, name, result: "failed" as const, error })),
      ...kept,
    ];
  }
  const clients = new ConnectorClients(catalog);
  try {
    const client = clients.kafka(connection, `eddy-${definition.name}-drop`);
    return [...(await deleteKafkaResources(client, { topics, groups }, options)), ...kept];
  } finally {
    await clients.close().catch(() => undefined);
  }
}

/** One line for people: what was deleted, what failed and why, what was kept. */
export function describeKafkaDrop(results: readonly KafkaDropResult[]): string {
  const deleted = results.filter((r) => r.result === "deleted").map((r) => `${r.kind} ${r.name}`);
  const parts = deleted.length > 0 ? [`deleted Kafka ${deleted.join(", ")}`] : [];
  for (const r of results) {
    if (r.result === "failed") parts.push(`could not delete Kafka ${r.kind} ${r.name}: ${r.error ?? "?"}`);
    if (r.result === "kept") parts.push(`kept Kafka ${r.kind} ${r.name}: ${r.reason}`);
  }
  return parts.join("; ");
}

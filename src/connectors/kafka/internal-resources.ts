/**
 * Deletes Kafka topics and consumer groups that Eddy created for a processor (a scaled-out processor's
 * repartition topic and consumer groups, docs/scale-out.md) when the processor is dropped. Each resource is
 * deleted on its own and comes back with its outcome: deleted, not there, or why it failed, so a caller can
 * say what happened without one failure hiding the others.
 */
import { Admin } from "@platformatic/kafka";
import { setTimeout as sleep } from "node:timers/promises";
import { errorChain } from "../retry.ts";
import type { KafkaClientOptions } from "./connection.ts";
import { kafkaReason } from "./errors.ts";

export interface KafkaResources {
  readonly topics: readonly string[];
  readonly groups: readonly string[];
}

export interface KafkaCleanupResult {
  readonly kind: "topic" | "consumer group";
  readonly name: string;
  readonly result: "deleted" | "absent" | "failed";
  /** Why it failed. */
  readonly error?: string;
}

export interface KafkaCleanupOptions {
  /**
   * How long a group that still has members is retried (members of tasks that are stopping leave it in a
   * moment; a member of a killed server only after its session timeout). Default 5 s.
   */
  readonly nonEmptyRetryMs?: number;
}

export async function deleteKafkaResources(
  client: KafkaClientOptions,
  wanted: KafkaResources,
  options: KafkaCleanupOptions = {},
): Promise<KafkaCleanupResult[]> {
  const admin = new Admin(client);
  try {
    let topics: ReadonlySet<string>;
    let groups: ReadonlySet<string>;
    try {
      topics = new Set(wanted.topics.length > 0 ? await admin.listTopics() : []);
      groups = new Set(wanted.groups.length > 0 ? (await admin.listGroups()).keys() : []);
    } catch (error) {
      // Brokers that cannot list cannot delete either: one wait for that answer, not one per resource.
      const reason = `listing topics and groups failed: ${kafkaReason(error)}`;
      return [
        ...wanted.topics.map((name) => failed("topic", name, reason)),
        ...wanted.groups.map((name) => failed("consumer group", name, reason)),
      ];
    }
    return [
      ...(await deleteEach(wanted.topics, "topic", topics, (topic) =>
        admin.deleteTopics({ topics: [topic] }),
      )),
      ...(await deleteEach(wanted.groups, "consumer group", groups, (group) =>
        deleteGroup(admin, group, options.nonEmptyRetryMs ?? 5_000),
      )),
    ];
  } finally {
    await admin.close().catch(() => undefined);
  }
}

function failed(kind: KafkaCleanupResult["kind"], name: string, error: string): KafkaCleanupResult {
  return { kind, name, result: "failed", error };
}

/** Deletes each of `names` that exists, one at a time, so one failure does not hide the others' outcomes. */
async function deleteEach(
  names: readonly string[],
  kind: KafkaCleanupResult["kind"],
  existing: ReadonlySet<string>,
  remove: (name: string) => Promise<void>,
): Promise<KafkaCleanupResult[]> {
  const results: KafkaCleanupResult[] = [];
  for (const name of names) {
    if (!existing.has(name)) {
      results.push({ kind, name, result: "absent" });
      continue;
    }
    try {
      await remove(name);
      results.push({ kind, name, result: "deleted" });
    } catch (error) {
      results.push(failed(kind, name, kafkaReason(error)));
    }
  }
  return results;
}

/** Deletes `group`, retrying while it still has members (up to `retryMs`). */
async function deleteGroup(admin: Admin, group: string, retryMs: number): Promise<void> {
  const deadline = Date.now() + retryMs;
  for (;;) {
    try {
      await admin.deleteGroups({ groups: [group] });
      return;
    } catch (error) {
      if (!hasApiError(error, "NON_EMPTY_GROUP") || Date.now() >= deadline) throw error;
      await sleep(250);
    }
  }
}

function hasApiError(error: unknown, apiId: string): boolean {
  for (const e of errorChain(error)) if ((e as { apiId?: unknown }).apiId === apiId) return true;
  return false;
}

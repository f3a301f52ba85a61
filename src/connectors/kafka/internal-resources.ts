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
import { kafkaFailure } from "./errors.ts";

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
    return [
      ...(await deleteEach(
        wanted.topics,
        "topic",
        () => admin.listTopics(),
        (topic) => admin.deleteTopics({ topics: [topic] }),
      )),
      ...(await deleteEach(
        wanted.groups,
        "consumer group",
        async () => [...(await admin.listGroups()).keys()],
        (group) => deleteGroup(admin, group, options.nonEmptyRetryMs ?? 5_000),
      )),
    ];
  } finally {
    await admin.close().catch(() => undefined);
  }
}

async function deleteEach(
  names: readonly string[],
  kind: KafkaCleanupResult["kind"],
  list: () => Promise<readonly string[]>,
  remove: (name: string) => Promise<void>,
): Promise<KafkaCleanupResult[]> {
  if (names.length === 0) return [];
  let existing: ReadonlySet<string>;
  try {
    existing = new Set(await list());
  } catch (error) {
    const reason = kafkaFailure(error, `listing the ${kind}s failed`).message;
    return names.map((name) => ({ kind, name, result: "failed", error: reason }));
  }
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
      results.push({ kind, name, result: "failed", error: kafkaFailure(error, `deleting failed`).message });
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

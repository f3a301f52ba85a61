/**
 * What `/health` and `/ready` say about connections, read off the processors running here: a `$source`
 * reports whether it reaches its server (`sourceStatus` in its stats); a processor that is retrying cannot
 * tell which of its connections failed, so those are "unknown" with its error. Connections no running
 * processor uses are not probed and not listed, nor are the built-in ones (`__testLog`, the sample
 * generators), which reach no server.
 */
import { isPlainObject } from "../mql/bson-types.ts";
import type { Doc } from "../mql/index.ts";
import { BUILTIN_CONNECTIONS } from "../pipeline/connections.ts";
import type { ProcessorMetrics } from "./processor-manager.ts";

export type ConnectionStatus = "reachable" | "unreachable" | "unknown";

export interface ConnectionHealth {
  readonly workspace: string;
  readonly name: string;
  readonly status: ConnectionStatus;
  readonly reachable: boolean;
  readonly lastError?: string;
  /** Since when the connection has had this status, when known. */
  readonly since?: Date;
  /** The running processors that use it. */
  readonly usedBy: readonly string[];
}

/** A started processor that cannot read its source. */
export interface SourceProblem {
  readonly workspace: string;
  readonly processor: string;
  readonly reason: string;
}

const BUILT_IN = new Set(BUILTIN_CONNECTIONS.map((c) => c.name));

const RANK: Record<ConnectionStatus, number> = { reachable: 0, unknown: 1, unreachable: 2 };

export function connectionHealth(processors: readonly ProcessorMetrics[]): ConnectionHealth[] {
  const byKey = new Map<string, ConnectionHealth>();
  for (const p of running(processors)) {
    const source = sourceConnection(p.pipeline);
    const stats = p.stats ?? {};
    const sourceStatus = isPlainObject(stats.sourceStatus) ? stats.sourceStatus : undefined;
    const retrying = retryError(stats);
    for (const name of p.connections.filter((c) => !BUILT_IN.has(c))) {
      let health: Omit<ConnectionHealth, "usedBy" | "workspace" | "name">;
      if (name === source && sourceStatus?.reachable === false) {
        health = {
          status: "unreachable",
          reachable: false,
          ...errorAndSince(sourceStatus),
        };
      } else if (retrying !== undefined) {
        health = { status: "unknown", reachable: false, lastError: retrying };
      } else {
        health = {
          status: "reachable",
          reachable: true,
          ...(name === source && sourceStatus ? errorAndSince(sourceStatus) : {}),
        };
      }
      const key = `${p.workspace}/${name}`;
      const known = byKey.get(key);
      const usedBy = [...(known?.usedBy ?? []), p.name];
      const worse = known === undefined || RANK[health.status] > RANK[known.status];
      byKey.set(key, { ...(worse ? health : known), workspace: p.workspace, name, usedBy });
    }
  }
  return [...byKey.values()].sort((a, b) =>
    a.workspace === b.workspace ? a.name.localeCompare(b.name) : a.workspace.localeCompare(b.workspace),
  );
}

/** Started processors running here whose source is unreachable or that are retrying (not reading it). */
export function sourceProblems(processors: readonly ProcessorMetrics[]): SourceProblem[] {
  return running(processors).flatMap((p) => {
    const stats = p.stats ?? {};
    const sourceStatus = isPlainObject(stats.sourceStatus) ? stats.sourceStatus : undefined;
    const reason =
      sourceStatus?.reachable === false
        ? String(sourceStatus.lastError ?? "its source is unreachable")
        : retryError(stats);
    return reason === undefined ? [] : [{ workspace: p.workspace, processor: p.name, reason }];
  });
}

function running(processors: readonly ProcessorMetrics[]): ProcessorMetrics[] {
  return processors.filter((p) => p.state === "STARTED" && p.connections.length > 0);
}

/** The `$source` stage's `connectionName`, if it has one. */
export function sourceConnection(pipeline: readonly unknown[]): string | undefined {
  const first = pipeline[0];
  const source = isPlainObject(first) ? first.$source : undefined;
  return isPlainObject(source) && typeof source.connectionName === "string"
    ? source.connectionName
    : undefined;
}

/** The error of a processor that is retrying (status "error", retryable). */
function retryError(stats: Doc): string | undefined {
  const error = stats.error;
  if (stats.status !== "error" || !isPlainObject(error) || error.retryable !== true) return undefined;
  return String(error.reason);
}

function errorAndSince(status: Doc): { lastError?: string; since?: Date } {
  return {
    ...(typeof status.lastError === "string" ? { lastError: status.lastError } : {}),
    ...(typeof status.since === "number" ? { since: new Date(status.since) } : {}),
  };
}

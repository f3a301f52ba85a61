/**
 * What the API reads about processors besides their definition: stats (live while a processor runs here,
 * else the last kept), the stats history, samples of recent outputs and the figures for `/metrics`.
 */
import type { Doc } from "../mql/index.ts";
import { statsStatus, type ProcessorState } from "./lifecycle.ts";
import type { ProcessorObservations } from "./processor-observations.ts";
import { processorKey, type ProcessorRecord } from "./processor-registry.ts";
import type { RunningProcessors } from "./running-processors.ts";
import { EMPTY_STATS, statsReply, type StatsRequest } from "./stats-view.ts";

/** ASP's stats reply for one processor. */
export async function processorStats(
  record: ProcessorRecord,
  running: RunningProcessors,
  observations: ProcessorObservations,
  request: StatsRequest,
): Promise<Doc> {
  const active = running.get(processorKey(record.workspace, record.name));
  const identity = {
    name: record.name,
    processorId: record.id,
    status: statsStatus(record.state, active?.run.status().state),
  };
  const stats = active
    ? statsReply({ ...active.run.stats(request) }, identity, request, true)
    : statsReply((await observations.history.get(record.id)).last ?? EMPTY_STATS, identity, request);
  return { ok: 1, ns: `${record.workspace}.${record.name}`, stats, pipeline: record.pipeline };
}

/** Up to `limit` recent outputs; waits up to `timeoutMs` for the first ones while the processor runs. */
export async function processorSample(
  record: ProcessorRecord,
  running: RunningProcessors,
  observations: ProcessorObservations,
  wait: { readonly limit: number; readonly timeoutMs: number; readonly signal?: AbortSignal },
): Promise<Doc[]> {
  const tap = observations.tap(record.id);
  if (!tap) return [];
  const live = running.has(processorKey(record.workspace, record.name));
  return tap.take(wait.limit, live ? wait.timeoutMs : 0, wait.signal);
}

/** One processor's figures for `/metrics`. */
export interface ProcessorMetrics {
  readonly workspace: string;
  readonly name: string;
  readonly state: ProcessorState;
  /** Verbose stats at scale 1: live while running, else the last kept. */
  readonly stats: Doc | undefined;
  readonly restarts: number;
}

export async function processorMetrics(
  records: readonly ProcessorRecord[],
  running: RunningProcessors,
  observations: ProcessorObservations,
): Promise<ProcessorMetrics[]> {
  const out: ProcessorMetrics[] = [];
  for (const record of records) {
    const active = running.get(processorKey(record.workspace, record.name));
    const stats = active
      ? { ...active.run.stats({ verbose: true }) }
      : (await observations.history.get(record.id)).last;
    const status = active?.run.status() ?? observations.status(record.id);
    out.push({
      workspace: record.workspace,
      name: record.name,
      state: record.state,
      stats,
      restarts: status?.restarts ?? 0,
    });
  }
  return out;
}

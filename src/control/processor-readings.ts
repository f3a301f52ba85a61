/**
 * What the API reads about processors besides their definition: stats (live while a processor runs here,
 * else the last kept), the stats history, samples of recent outputs and the figures for `/metrics`.
 */
import type { Doc } from "../mql/index.ts";
import { statsStatus, type ProcessorState } from "./lifecycle.ts";
import type { ProcessorObservations } from "./processor-observations.ts";
import { processorKey, type ProcessorRecord } from "./processor-registry.ts";
import type { RunningProcessors } from "./running-processors.ts";
import type { ProcessorTotals } from "./scale/processor-totals.ts";
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

/** Up to `limit` of the last dead-letter records of the processor's current or last run here (oldest first). */
export async function processorDeadLetters(
  record: ProcessorRecord,
  observations: ProcessorObservations,
  limit: number,
): Promise<Doc[]> {
  return (await observations.deadLetterTap(record.id)?.take(limit, 0)) ?? [];
}

export interface SamplePage {
  readonly messages: Doc[];
  /** Where the next page starts. */
  readonly position: number;
  /** False once the run is over and every output was read: nothing more will come. */
  readonly running: boolean;
}

/** The outputs after `position` (a count of outputs since the run started), for a sample cursor. */
export async function processorSampleAfter(
  record: ProcessorRecord,
  running: RunningProcessors,
  observations: ProcessorObservations,
  position: number,
  wait: { readonly limit: number; readonly timeoutMs: number; readonly signal?: AbortSignal },
): Promise<SamplePage> {
  const key = processorKey(record.workspace, record.name);
  const tap = observations.tap(record.id);
  if (!tap) return { messages: [], position, running: running.has(key) };
  // A position past the tap's end belongs to an earlier run: read the new run from its start.
  const from = position > tap.position ? 0 : position;
  const page = await tap.after(from, wait.limit, running.has(key) ? wait.timeoutMs : 0, wait.signal);
  return {
    messages: page.docs,
    position: page.position,
    running: running.has(key) || page.position < tap.position,
  };
}

/** One processor's figures for `/metrics`. */
export interface ProcessorMetrics {
  readonly workspace: string;
  readonly name: string;
  readonly state: ProcessorState;
  /** Verbose stats at scale 1: live while running, else the last kept. */
  readonly stats: Doc | undefined;
  readonly restarts: number;
  /** The stored pipeline (the console draws it; `/health` reads its `$source` connection). */
  readonly pipeline: readonly unknown[];
  /** Connections the running processor uses; empty when it is not running here. */
  readonly connections: readonly string[];
  /**
   * A scaled-out processor's processor-wide figures (`stats` are this instance's task's; `/metrics` exports
   * those, so that summing over instances stays meaningful).
   */
  readonly totals?: ProcessorTotals;
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
      pipeline: record.pipeline,
      connections: active ? [...active.connections] : [],
    });
  }
  return out;
}

/**
 * What `modify` may change while the processor keeps its checkpoint (`resumeFromCheckpoint` true, the
 * default), with ASP's error texts (docs/asp-semantics.md §6 and the engine's modify tests). With
 * `resumeFromCheckpoint: false` anything may change: the processor starts afresh.
 */
import { EJSON } from "bson";
import { isPlainObject } from "../mql/bson-types.ts";
import type { Doc } from "../mql/index.ts";
import { isWindowStage } from "../pipeline/stages/window.ts";

export const NEEDS_RESET = "resumeFromCheckpoint must be false to";
const BLOCKING_STAGES = new Set(["$group", "$sort", "$count", "$limit"]);

/**
 * The ASP message refusing the change from `before` to `after`, or undefined when it keeps the checkpoint
 * usable. `sourceKeepsNoPosition`: the old `$source` is a sample or inline-documents source, which has no
 * position to resume from (ASP does not checkpoint those), so nothing constrains the change.
 */
export function modifyRefusalReason(
  before: readonly unknown[],
  after: readonly unknown[],
  sourceKeepsNoPosition: boolean,
): string | undefined {
  if (sourceKeepsNoPosition) return undefined;
  if (!same(before[0], after[0])) return `${NEEDS_RESET} modify a stream processor's $source stage`;
  const oldWindow = findWindow(before);
  const newWindow = findWindow(after);
  if (oldWindow && !newWindow) return `${NEEDS_RESET} remove a window from a stream processor`;
  if (!oldWindow && newWindow) return `${NEEDS_RESET} add a window to a stream processor`;
  if (
    !oldWindow ||
    !newWindow ||
    (same(oldWindow.spec, newWindow.spec) && oldWindow.name === newWindow.name)
  ) {
    return undefined;
  }
  if (oldWindow.name !== newWindow.name) return `${NEEDS_RESET} change a stream processor's window type`;
  if (oldWindow.name === "$sessionWindow") return `${NEEDS_RESET} modify a $sessionWindow stage`;
  for (const field of ["interval", "hopSize", "allowedLateness"]) {
    if (!same(oldWindow.spec[field], newWindow.spec[field]))
      return `${NEEDS_RESET} change a window stage's ${field}`;
  }
  if (!hasBlockingStage(oldWindow.spec)) {
    return `${NEEDS_RESET} modify a processor that has a window without a blocking stage`;
  }
  return undefined;
}

function findWindow(pipeline: readonly unknown[]): { name: string; spec: Doc } | undefined {
  for (const stage of pipeline) {
    if (!isPlainObject(stage)) continue;
    const [name] = Object.keys(stage);
    if (name !== undefined && isWindowStage(name)) {
      return { name, spec: isPlainObject(stage[name]) ? (stage[name] as Doc) : {} };
    }
  }
  return undefined;
}

function hasBlockingStage(spec: Doc): boolean {
  const inner = Array.isArray(spec.pipeline) ? spec.pipeline : [];
  return inner.some(
    (stage) => isPlainObject(stage) && Object.keys(stage).some((k) => BLOCKING_STAGES.has(k)),
  );
}

/** Field-order-sensitive equality, as the engine compares BSON. */
function same(a: unknown, b: unknown): boolean {
  return EJSON.stringify(a ?? null, { relaxed: false }) === EJSON.stringify(b ?? null, { relaxed: false });
}

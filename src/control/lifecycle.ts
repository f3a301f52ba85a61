/**
 * Processor states and the transitions between them (docs/asp-semantics.md §6.1): create ⇒ CREATED; start from
 * CREATED/STOPPED/FAILED ⇒ STARTED; stop from STARTED ⇒ STOPPED; a failure ⇒ FAILED; drop from any state.
 * Refusals use the engine's wording (`stream processor name already exists: x`, `stream processor does
 * not exist: x`) followed by what to do instead.
 */
import { conflict, type ControlError } from "./errors.ts";

export const PROCESSOR_STATES = ["CREATED", "STARTED", "STOPPED", "FAILED"] as const;
export type ProcessorState = (typeof PROCESSOR_STATES)[number];

/** Why `start` is not allowed in `state`, or undefined when it is. */
export function startRefusal(
  state: ProcessorState,
  workspace: string,
  name: string,
): ControlError | undefined {
  if (state !== "STARTED") return undefined;
  return conflict("PROCESSOR_ALREADY_STARTED", { name, workspace });
}

export function stopRefusal(
  state: ProcessorState,
  workspace: string,
  name: string,
): ControlError | undefined {
  if (state === "STARTED") return undefined;
  return conflict("PROCESSOR_NOT_STARTED", { name, workspace, state });
}

export function modifyRefusal(
  state: ProcessorState,
  workspace: string,
  name: string,
): ControlError | undefined {
  if (state !== "STARTED") return undefined;
  return conflict("PROCESSOR_RUNNING", { name, workspace });
}

/** `stats.status` (lower case, ASP's engine values) for a processor state and its supervisor's state. */
export function statsStatus(state: ProcessorState, supervisorState: string | undefined): string {
  switch (state) {
    case "CREATED":
      return "created";
    case "STOPPED":
      return "stopped";
    case "FAILED":
      return "error";
    case "STARTED":
      return supervisorState === "retrying" || supervisorState === "failed" ? "error" : "running";
  }
}

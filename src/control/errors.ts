/**
 * Errors of the control plane. Each carries a kind (what went wrong, which the HTTP layer turns into a
 * status code), a stable code, a message that says what to do next and, for bad definitions, every problem
 * with its JSON path.
 */

/** One problem in a request body or definition. */
export interface Problem {
  /** JSON path inside the body, e.g. `pipeline[1].$match`; "" for the body itself. */
  readonly path: string;
  readonly message: string;
  readonly expected?: string;
  readonly got?: string;
}

export type ControlErrorKind =
  | "invalid" // the request or definition is wrong (400)
  | "not-found" // no such workspace/connection/processor (404)
  | "conflict" // the current state does not allow it (409)
  | "start-failed"; // the processor could not start (422)

export class ControlError extends Error {
  override readonly name = "ControlError";
  readonly kind: ControlErrorKind;
  readonly code: string;
  readonly problems: readonly Problem[] | undefined;

  constructor(kind: ControlErrorKind, code: string, message: string, problems?: readonly Problem[]) {
    super(message);
    this.kind = kind;
    this.code = code;
    this.problems = problems;
  }
}

export function notFound(code: string, message: string): ControlError {
  return new ControlError("not-found", code, message);
}

export function conflict(code: string, message: string): ControlError {
  return new ControlError("conflict", code, message);
}

export function invalid(code: string, message: string, problems?: readonly Problem[]): ControlError {
  return new ControlError("invalid", code, message, problems);
}

export { typeName } from "../pipeline/errors.ts";

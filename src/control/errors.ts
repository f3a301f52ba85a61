/**
 * Errors of the control plane. Each carries a kind (what went wrong), a stable code from the registry
 * (src/errors/codes.ts, which also gives its HTTP status and the template its message is built from: what
 * went wrong and what to do next) and, for bad definitions, every problem with its JSON path.
 */
import { errorMessage, type ErrorCode, type MessageParams } from "../errors/codes.ts";

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
  readonly code: ErrorCode;
  readonly problems: readonly Problem[] | undefined;

  constructor(kind: ControlErrorKind, code: ErrorCode, message: string, problems?: readonly Problem[]) {
    super(message);
    this.kind = kind;
    this.code = code;
    this.problems = problems;
  }
}

/** An error of `kind` with code `code`'s message, its template filled with `params`. */
export function controlError<C extends ErrorCode>(
  kind: ControlErrorKind,
  code: C,
  params: MessageParams<C>,
  problems?: readonly Problem[],
): ControlError {
  return new ControlError(kind, code, errorMessage(code, params), problems);
}

export function notFound<C extends ErrorCode>(code: C, params: MessageParams<C>): ControlError {
  return controlError("not-found", code, params);
}

export function conflict<C extends ErrorCode>(code: C, params: MessageParams<C>): ControlError {
  return controlError("conflict", code, params);
}

export function invalid<C extends ErrorCode>(
  code: C,
  params: MessageParams<C>,
  problems?: readonly Problem[],
): ControlError {
  return controlError("invalid", code, params, problems);
}

export { typeName } from "../pipeline/errors.ts";

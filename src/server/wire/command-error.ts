/**
 * MongoDB's command-error shape `{ok: 0, errmsg, code, codeName}`: control-plane errors keep their Eddy
 * code in `eddyErrorCode` and get the nearest server error code by kind.
 */
import type { Document } from "bson";
import { ControlError, type ControlErrorKind } from "../../control/errors.ts";

export class CommandError extends Error {
  override readonly name = "CommandError";
  readonly code: number;
  readonly codeName: string;
  readonly extra: Document;

  constructor(code: number, codeName: string, message: string, extra: Document = {}) {
    super(message);
    this.code = code;
    this.codeName = codeName;
    this.extra = extra;
  }

  reply(): Document {
    return { ok: 0, errmsg: this.message, code: this.code, codeName: this.codeName, ...this.extra };
  }
}

export const commandNotFound = (name: string): CommandError =>
  new CommandError(59, "CommandNotFound", `no such command: '${name}'`);

export const unauthorized = (name: string): CommandError =>
  new CommandError(13, "Unauthorized", `command ${name} requires authentication`);

export const authenticationFailed = (): CommandError =>
  new CommandError(18, "AuthenticationFailed", "Authentication failed.");

export const badValue = (message: string): CommandError => new CommandError(2, "BadValue", message);

const BY_KIND: Record<ControlErrorKind, readonly [number, string]> = {
  invalid: [2, "BadValue"],
  "not-found": [26, "NamespaceNotFound"],
  conflict: [20, "IllegalOperation"],
  "start-failed": [125, "CommandFailed"],
};

/** The command error for anything a command threw. */
export function toCommandError(error: unknown): CommandError {
  if (error instanceof CommandError) return error;
  if (error instanceof ControlError) {
    const [code, codeName] =
      error.code === "PROCESSOR_ALREADY_EXISTS" ? [48, "NamespaceExists"] : BY_KIND[error.kind];
    return new CommandError(code, codeName, error.message, {
      eddyErrorCode: error.code,
      ...(error.problems && error.problems.length > 0 ? { problems: error.problems } : {}),
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new CommandError(1, "InternalError", `the server failed to run the command: ${message}`);
}

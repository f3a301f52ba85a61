import type { CliIo } from "./io.ts";
import { jsonLogger } from "../runtime/log.ts";
import { StoppedWhileFailingError } from "../runtime/supervisor.ts";
import { UsageError } from "./args.ts";
import { EXIT_CODES } from "../errors/codes.ts";

/** Exit codes of the `sp` command (defined with their meaning in src/errors/codes.ts). */
export const EXIT = {
  ok: EXIT_CODES.ok.code,
  failed: EXIT_CODES.failed.code,
  usage: EXIT_CODES.usage.code,
  unreachable: EXIT_CODES.unreachable.code,
  auth: EXIT_CODES.auth.code,
} as const;

/** An error the CLI reports as it is: `message` on stderr, then `hint` (what to do next), exit `exitCode`. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode: number;
  readonly hint: string | undefined;

  constructor(message: string, options: { exitCode?: number; hint?: string } = {}) {
    super(message);
    this.exitCode = options.exitCode ?? EXIT.failed;
    this.hint = options.hint;
  }
}

interface IssueLike {
  readonly path: string;
  readonly message: string;
}

/** Prints an error the way the CLI reports it and returns the exit code (2 for usage/definition errors, 1 otherwise). */
export function reportError(error: unknown, io: CliIo, logJson: boolean): number {
  const issues = (error as { errors?: readonly IssueLike[] }).errors;
  if ((error as Error).name === "PlanError" && Array.isArray(issues)) {
    io.stderr.write(`invalid processor definition (StreamProcessorInvalidOptions):\n`);
    for (const issue of issues) io.stderr.write(`  ${issue.path ? `${issue.path}: ` : ""}${issue.message}\n`);
    return 2;
  }
  if (error instanceof CliError) {
    io.stderr.write(`sp: ${error.message}\n`);
    if (error.hint) io.stderr.write(`hint: ${error.hint}\n`);
    return error.exitCode;
  }
  if (error instanceof UsageError) {
    io.stderr.write(`sp: ${error.message}\n`);
    return 2;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (logJson) {
    jsonLogger((line) => io.stderr.write(line)).error("processor failed", {
      error: message,
      ...(error instanceof StoppedWhileFailingError
        ? { documentsNotWritten: error.documentsNotWritten }
        : {}),
    });
  } else io.stderr.write(`sp: ${message}\n`);
  return 1;
}

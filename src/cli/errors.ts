import type { CliIo } from "./io.ts";
import { jsonLogger } from "../runtime/index.ts";
import { UsageError } from "./args.ts";

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
  if (error instanceof UsageError) {
    io.stderr.write(`sp: ${error.message}\n`);
    return 2;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (logJson) jsonLogger((line) => io.stderr.write(line)).error("processor failed", { error: message });
  else io.stderr.write(`sp: ${message}\n`);
  return 1;
}

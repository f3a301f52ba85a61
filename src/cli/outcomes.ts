/**
 * Commands that act on several connections or processors in turn (create every file, start every
 * processor…): one outcome per item, one line each (or one JSON object for all), and an exit code.
 */
import { ApiError } from "./client.ts";
import { CliError, EXIT } from "./errors.ts";
import type { Remote } from "./remote.ts";

export interface Outcome {
  readonly name: string;
  /** What was done ("created", "started", "skipped"…) or attempted. */
  readonly action: string;
  readonly ok: boolean;
  /** The local file the item came from. */
  readonly file?: string;
  /** Why it was skipped, or extra detail for the reader. */
  readonly note?: string;
  readonly error?: {
    readonly message: string;
    readonly hint?: string;
    readonly status?: number;
    readonly errorCode?: string;
  };
  readonly exitCode?: number;
}

export type StepResult = Partial<Pick<Outcome, "action" | "note">>;

export interface Step<T> {
  readonly name: (item: T) => string;
  readonly file?: (item: T) => string | undefined;
  readonly action: string;
  /** Does it; may rename the action ("updated") or add a note. */
  readonly run: (item: T) => Promise<StepResult | void>;
  /** A next step for a refused request, when the server's own detail does not give one. */
  readonly hint?: (item: T, error: ApiError) => string | undefined;
}

/**
 * Runs `step` for each item in order and collects the outcomes. An unreachable server or a refused token
 * ends the run at once (every later request would fail the same way): that error is thrown.
 */
export async function runEach<T>(items: readonly T[], step: Step<T>): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const item of items) {
    const base = { name: step.name(item), ...(step.file?.(item) ? { file: step.file(item) } : {}) };
    try {
      const result = await step.run(item);
      outcomes.push({ action: step.action, ...base, ...(result ?? {}), ok: true });
    } catch (error) {
      if (
        !(error instanceof CliError) ||
        error.exitCode === EXIT.unreachable ||
        error.exitCode === EXIT.auth
      ) {
        throw error;
      }
      const api = error instanceof ApiError ? error : undefined;
      const hint = error.hint ?? (api ? step.hint?.(item, api) : undefined);
      outcomes.push({
        action: step.action,
        ...base,
        ok: false,
        exitCode: error.exitCode,
        error: {
          message: error.message,
          ...(hint ? { hint } : {}),
          ...(api ? { status: api.status, ...(api.errorCode ? { errorCode: api.errorCode } : {}) } : {}),
        },
      });
    }
  }
  return outcomes;
}

/**
 * Prints outcomes — `<action> <kind> <name> (<file>)` lines on stdout, failures with their hint on stderr;
 * with --json one `{"results": [...]}` object on stdout (failures still on stderr) — and returns the exit
 * code: 0 when all succeeded, else the first failure's.
 */
export function reportOutcomes(remote: Remote, kind: string, outcomes: readonly Outcome[]): number {
  const { io } = remote;
  if (remote.json) io.stdout.write(JSON.stringify({ results: outcomes.map(withoutExitCode) }) + "\n");
  for (const outcome of outcomes) {
    const from = outcome.file ? ` (${outcome.file})` : "";
    if (outcome.ok) {
      if (!remote.json) {
        const note = outcome.note ? ` — ${outcome.note}` : "";
        io.stdout.write(`${outcome.action} ${kind} ${outcome.name}${from}${note}\n`);
      }
      continue;
    }
    io.stderr.write(`sp: ${kind} ${outcome.name}${from}: ${outcome.error?.message ?? "failed"}\n`);
    if (outcome.error?.hint) io.stderr.write(`hint: ${outcome.error.hint}\n`);
  }
  return outcomes.find((o) => !o.ok)?.exitCode ?? EXIT.ok;
}

function withoutExitCode(outcome: Outcome): Omit<Outcome, "exitCode"> {
  const { exitCode: _exitCode, ...rest } = outcome;
  return rest;
}

/**
 * Which PostgreSQL errors belong to one row (the row goes to the DLQ), which may pass on a retry, and which
 * fail the processor: a lost connection loses the open transaction, so the processor restarts from its
 * last checkpoint (retryable); a missing table or column cannot heal (not retryable).
 */
import { ConnectorError } from "../../runtime/errors.ts";
import { messageOf } from "../retry.ts";

/** SQLSTATE of a `pg` error, when PostgreSQL sent one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Class 22 (data exception: bad number, too long, out of range) and 23 (constraints): the row itself is wrong. */
export function isRowError(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && (state.startsWith("22") || state.startsWith("23"));
}

/** Serialization failures, deadlocks, lock and statement timeouts: the same statement may pass again. */
export function isTransientStatementError(error: unknown): boolean {
  const state = sqlState(error);
  return state === "40001" || state === "40P01" || state === "55P03" || state === "57014";
}

/** The error that ends the run: retryable for lost connections and server restarts, else permanent. */
export function postgresFailure(error: unknown, context: string): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const state = sqlState(error);
  const retryable =
    state === undefined ||
    state.startsWith("08") ||
    state.startsWith("53") ||
    state.startsWith("57P") ||
    isTransientStatementError(error);
  const hint = state === undefined ? "" : ` (SQLSTATE ${state})${HINTS[state] ?? ""}`;
  return new ConnectorError(`${context}: ${messageOf(error)}${hint}`, { retryable, cause: error });
}

const HINTS: Readonly<Record<string, string>> = {
  "42P01": "; create the table first, or set config.createTable with a type for every column",
  "42703": "; check the $emit columns against the table",
  "42P10": "; conflictColumns must match a primary key or unique index of the table",
  "28P01": "; check the connection's user and password",
  "28000": "; check the connection's user and pg_hba.conf",
  "3D000": "; check the database name of the connection",
};

/**
 * Turns MongoDB driver errors into {@link ConnectorError}s with `retryable` set, by error class, code and
 * label (never by message: servers word them differently): lost connections, server selection timeouts,
 * "not primary" and shutdown errors are transient; authentication failures, invalid namespaces and a
 * resume token that has left the oplog are not.
 */
import { MongoError, MongoNetworkError, MongoServerSelectionError } from "mongodb";
import { ConnectorError } from "../../runtime/errors.ts";
import { errorChain, messageOf } from "../retry.ts";

/** Server codes that mean "try again shortly": elections, shutdowns, network trouble between members. */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  24, // LockTimeout
  50, // MaxTimeMSExpired
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
  64, // WriteConcernFailed
  112, // WriteConflict
  251, // NoSuchTransaction
  63, // StaleShardVersion
  150, // StaleEpoch
  13388, // StaleConfig
  133, // FailedToSatisfyReadPreference
  43, // CursorNotFound (a resumable change-stream error)
]);

const PERMANENT_CODES: Readonly<Record<number, string>> = {
  13: "not authorised: grant the connection's user the roles the processor needs (readWrite on the target)",
  18: "authentication failed: check the user name and password in the connection string",
  73: "invalid namespace: fix the db/coll names",
  286: "the resume token is no longer in the oplog (ChangeStreamHistoryLost): restart the processor with resumeFromCheckpoint: false, optionally with a new startAtOperationTime",
  280: "the change stream cannot resume (ChangeStreamFatalError): restart the processor with resumeFromCheckpoint: false",
  260: "the resume token is invalid: restart the processor with resumeFromCheckpoint: false",
};

const TRANSIENT_LABELS = [
  "RetryableWriteError",
  "ResumableChangeStreamError",
  "TransientTransactionError",
  "RetryableError",
];

interface MongoErrorLike {
  code?: unknown;
  name?: string;
}

function permanentReason(error: unknown): string | undefined {
  for (const e of errorChain(error)) {
    const code = (e as MongoErrorLike).code;
    if (typeof code === "number" && PERMANENT_CODES[code] !== undefined) return PERMANENT_CODES[code];
    const name = (e as MongoErrorLike).name;
    if (name === "MongoMissingCredentialsError" || name === "MongoParseError")
      return `the connection string is invalid (${messageOf(e)}): fix the connection's uri`;
    if (name === "MongoInvalidArgumentError" && /name|namespace/i.test(messageOf(e)))
      return `invalid namespace (${messageOf(e)}): fix the db/coll names`;
  }
  return undefined;
}

/** "cannot reach MongoDB at host:port (reason)" when server selection found no server, else undefined. */
export function unreachableReason(error: unknown): string | undefined {
  for (const e of errorChain(error)) {
    if (!(e instanceof MongoServerSelectionError)) continue;
    const servers = [...(e.reason?.servers ?? new Map()).entries()];
    const hosts = servers.map(([address]) => address).join(", ") || "the configured hosts";
    const reason = servers.map(([, server]) => server.error?.message).find((m) => m) ?? e.message;
    return `cannot reach MongoDB at ${hosts} (${reason})`;
  }
  return undefined;
}

/** True when the operation may succeed if tried again. */
export function isTransientMongoError(error: unknown): boolean {
  if (error instanceof ConnectorError) return error.retryable;
  for (const e of errorChain(error)) {
    if (e instanceof MongoNetworkError || e instanceof MongoServerSelectionError) return true;
    const name = (e as MongoErrorLike).name;
    if (
      name === "MongoNetworkTimeoutError" ||
      name === "PoolClearedError" ||
      name === "MongoPoolClearedError"
    )
      return true;
    const code = (e as MongoErrorLike).code;
    if (typeof code === "number" && TRANSIENT_CODES.has(code)) return true;
    if (e instanceof MongoError && TRANSIENT_LABELS.some((label) => e.hasErrorLabel(label))) return true;
    if (typeof code === "string" && ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT"].includes(code))
      return true;
  }
  return false;
}

/**
 * `error` as a ConnectorError whose message starts with `action` (`$merge to shop.orders failed`).
 * Unclassified errors are retryable (ASP retries user errors for about five minutes before failing).
 */
export function mongoFailure(error: unknown, action: string): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const unreachable = unreachableReason(error);
  if (unreachable !== undefined)
    return new ConnectorError(`${action}: ${unreachable}`, { retryable: true, cause: error });
  const permanent = permanentReason(error);
  if (permanent !== undefined)
    return new ConnectorError(`${action}: ${permanent} (${messageOf(error)})`, {
      retryable: false,
      cause: error,
    });
  return new ConnectorError(`${action}: ${messageOf(error)}`, { retryable: true, cause: error });
}

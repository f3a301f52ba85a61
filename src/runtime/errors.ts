/**
 * An error raised by a connector (source, sink, lookup, DLQ writer) that tells the supervisor
 * whether trying again can help.
 *
 * - `retryable: true` — the cause may go away on its own (connection refused or reset, timeouts,
 *   a broker or server that is restarting): the supervisor restarts the processor from its last
 *   checkpoint with exponential back-off.
 * - `retryable: false` — retrying cannot help (authentication failure, unknown topic, invalid
 *   namespace, a resume token that has left the oplog, state over its limit): the processor fails
 *   at once and the message must say what to change.
 *
 * Errors that are not ConnectorErrors are treated as retryable (ASP retries user errors for about
 * five minutes before it marks a processor FAILED).
 */
export class ConnectorError extends Error {
  override readonly name: string = "ConnectorError";
  readonly retryable: boolean;

  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable;
  }
}

/** Whether the supervisor should retry after `error` (anything but a non-retryable ConnectorError). */
export function isRetryable(error: unknown): boolean {
  return !(error instanceof ConnectorError) || error.retryable;
}

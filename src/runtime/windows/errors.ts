import { ConnectorError } from "../errors.ts";

/**
 * Window state grew past `maxStateBytes`. Permanent (`retryable: false`): restarting from the last checkpoint
 * would rebuild the same state, so the processor fails, as ASP's out-of-memory error does.
 */
export class StateLimitExceededError extends ConnectorError {
  readonly bytes: number;
  readonly limit: number;

  constructor(bytes: number, limit: number) {
    super(
      `window state is ${bytes} bytes, over the limit of ${limit} bytes (maxStateBytes); reduce the number ` +
        "of open keys or windows, shorten the window, or raise the limit",
      { retryable: false },
    );
    this.bytes = bytes;
    this.limit = limit;
  }
}

/**
 * A checkpoint's window state does not fit the processor's window any more (type, interval, hop, offset,
 * lateness, gap or the `$group` accumulators changed). Permanent: the state must be discarded.
 */
export class WindowStateMismatchError extends ConnectorError {
  constructor(saved: string, current: string) {
    super(
      `the checkpoint holds window state for ${saved}, but the processor's window is now ${current}; ` +
        "start it with resumeFromCheckpoint: false to discard the window state (open windows are lost)",
      { retryable: false },
    );
  }
}

import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** True if something accepts TCP connections on host:port. */
export function isPortOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export interface WaitOptions {
  /** What is awaited, for the error message: "Kafka on 127.0.0.1:19092". */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Checked before each attempt; a returned message aborts the wait (e.g. the process died). */
  abortReason?: () => string | undefined;
  /** Extra context appended to a timeout error (e.g. the tail of a log file). */
  diagnostics?: () => string;
}

/** Polls `ready` until it resolves true; rejects with a message that says what and how long. */
export async function waitUntil(ready: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  while (true) {
    const aborted = options.abortReason?.();
    if (aborted !== undefined)
      throw new Error(`${options.what} failed to start: ${aborted}${extra(options)}`);
    try {
      if (await ready()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(
        `${options.what} was not ready after ${Math.round(options.timeoutMs / 1000)} s${cause}${extra(options)}`,
      );
    }
    await sleep(options.intervalMs ?? 200);
  }
}

function extra(options: WaitOptions): string {
  const text = options.diagnostics?.();
  return text ? `\n${text}` : "";
}

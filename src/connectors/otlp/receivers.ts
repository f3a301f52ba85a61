/**
 * One receiver per OTLP connection (and settings) in a process, shared by every `$source` that reads it
 * (one per signal, or several processors on the same signal). It outlives its readers for `lingerMs`, so
 * that a processor restarted by its supervisor (after a sink failure, say) finds the port still open and
 * the spool still filling: exporters keep getting answers while the pipeline reconnects.
 */
import { jsonLogger, type Logger } from "../../runtime/log.ts";
import type { OtlpConfig } from "./config.ts";
import { OtlpReceiver } from "./receiver.ts";

const DEFAULT_LINGER_MS = 60_000;

interface Shared {
  readonly receiver: Promise<OtlpReceiver>;
  users: number;
  closeTimer: NodeJS.Timeout | undefined;
}

const shared = new Map<string, Shared>();

/** A handle on the connection's receiver; call `release` once when done. */
export interface ReceiverLease {
  readonly receiver: OtlpReceiver;
  release(): void;
}

export async function acquireReceiver(
  connectionName: string,
  config: OtlpConfig,
  options: { logger?: Logger; lingerMs?: number } = {},
): Promise<ReceiverLease> {
  // Keyed by the settings too: workspaces may each have an "otel", and an edited connection gets a
  // receiver of its own (while the old one lingers on the same port, the new one's start fails and the
  // supervisor retries) instead of silently reusing the old settings.
  const key = `${connectionName}\u0000${JSON.stringify(config)}`;
  let entry = shared.get(key);
  if (!entry) {
    const receiver = OtlpReceiver.start(connectionName, config, options.logger ?? jsonLogger());
    entry = { receiver, users: 0, closeTimer: undefined };
    shared.set(key, entry);
    receiver.catch(() => shared.delete(key));
  }
  const current = entry;
  current.users++;
  clearTimeout(current.closeTimer);
  current.closeTimer = undefined;
  let receiver: OtlpReceiver;
  try {
    receiver = await current.receiver;
  } catch (error) {
    current.users--;
    throw error;
  }
  let released = false;
  return {
    receiver,
    release() {
      if (released) return;
      released = true;
      if (--current.users > 0) return;
      current.closeTimer = setTimeout(() => {
        if (current.users > 0 || shared.get(key) !== current) return;
        shared.delete(key);
        void receiver.close();
      }, options.lingerMs ?? DEFAULT_LINGER_MS);
      current.closeTimer.unref();
    },
  };
}

/** Closes every receiver of this process now (server shutdown, tests). */
export async function closeAllReceivers(): Promise<void> {
  const entries = [...shared.values()];
  shared.clear();
  for (const entry of entries) {
    clearTimeout(entry.closeTimer);
    await entry.receiver.then((receiver) => receiver.close()).catch(() => {});
  }
}

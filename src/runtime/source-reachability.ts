import type { SourceReachability } from "./source.ts";

/** Whether a source reaches its server, and since when: sources report successes and failures here. */
export class ReachabilityTracker {
  private state: SourceReachability;

  constructor(now = Date.now()) {
    this.state = { reachable: true, since: now };
  }

  /** The server answered: reachable again (the last error is kept for `/health`). */
  ok(now = Date.now()): void {
    if (this.state.reachable) return;
    this.state = {
      reachable: true,
      since: now,
      ...(this.state.lastError ? { lastError: this.state.lastError } : {}),
    };
  }

  failed(message: string, now = Date.now()): void {
    this.state = {
      reachable: false,
      lastError: message,
      since: this.state.reachable ? now : this.state.since,
    };
  }

  get(): SourceReachability {
    return this.state;
  }
}

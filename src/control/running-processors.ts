/** The processor runs active on this instance, by processor key (`<workspace>/<name>`). */
import type { ProcessorRun } from "./processor-launcher.ts";

export interface RunningProcessor {
  readonly run: ProcessorRun;
  readonly id: string;
  /** The connections its plan uses (a connection in use cannot be changed or dropped). */
  readonly connections: ReadonlySet<string>;
  /** Set when a stop was asked for: the run's end is then not a finish or a crash. */
  stopping: boolean;
  /** The task it runs, for a scaled-out processor (docs/scale-out.md). */
  readonly task?: number;
}

export class RunningProcessors {
  private readonly byKey = new Map<string, RunningProcessor>();

  get(key: string): RunningProcessor | undefined {
    return this.byKey.get(key);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  add(key: string, running: RunningProcessor): void {
    this.byKey.set(key, running);
  }

  delete(key: string): void {
    this.byKey.delete(key);
  }

  /** Removes `running` when it is still the run under `key`; false when another run took its place. */
  deleteIfCurrent(key: string, running: RunningProcessor): boolean {
    if (this.byKey.get(key) !== running) return false;
    this.byKey.delete(key);
    return true;
  }

  keys(): string[] {
    return [...this.byKey.keys()];
  }

  values(): IterableIterator<RunningProcessor> {
    return this.byKey.values();
  }

  /** Names of the running processors of `workspace`. */
  inWorkspace(workspace: string): string[] {
    return this.keys()
      .filter((key) => key.startsWith(`${workspace}/`))
      .map((key) => key.slice(workspace.length + 1));
  }

  /** Names of the running processors of `workspace` that use connection `connection`. */
  usingConnection(workspace: string, connection: string): string[] {
    return [...this.byKey.entries()]
      .filter(([key, running]) => key.startsWith(`${workspace}/`) && running.connections.has(connection))
      .map(([key]) => key.slice(workspace.length + 1));
  }
}

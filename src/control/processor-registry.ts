/** Stored processor definitions and their lifecycle state, one record per processor. */
import type { Doc } from "../mql/index.ts";
import type { ProcessorState } from "./lifecycle.ts";
import type { StateStore } from "./state-store.ts";

const COLLECTION = "processors";

export interface ProcessorRecord {
  /** Stable across renames; keys the processor's checkpoint and stats. */
  readonly id: string;
  readonly name: string;
  readonly workspace: string;
  readonly pipeline: readonly unknown[];
  readonly options: Doc;
  readonly state: ProcessorState;
  readonly createdAt: Date;
  readonly lastModified: Date;
  readonly lastStateChange: Date;
  /** Why the processor FAILED (secrets redacted). */
  readonly errorMsg?: string;
  /** Created by `sp.process()`: may have no sink; its client drops it when done. */
  readonly ephemeral?: boolean;
}

export class ProcessorRegistry {
  private readonly store: StateStore;

  constructor(store: StateStore) {
    this.store = store;
  }

  async list(workspace?: string): Promise<ProcessorRecord[]> {
    const records = (await this.store.list<ProcessorRecord>(COLLECTION)).map((r) => r.value);
    return workspace === undefined ? records : records.filter((r) => r.workspace === workspace);
  }

  async find(workspace: string, name: string): Promise<ProcessorRecord | undefined> {
    return this.store.get<ProcessorRecord>(COLLECTION, processorKey(workspace, name));
  }

  async put(record: ProcessorRecord): Promise<void> {
    await this.store.put(COLLECTION, processorKey(record.workspace, record.name), withoutUndefined(record));
  }

  async delete(workspace: string, name: string): Promise<void> {
    await this.store.delete(COLLECTION, processorKey(workspace, name));
  }
}

/** `<workspace>/<name>`: the key of a processor's record and of its operation queue. */
export function processorKey(workspace: string, name: string): string {
  return `${workspace}/${name}`;
}

function withoutUndefined(record: ProcessorRecord): ProcessorRecord {
  return Object.fromEntries(
    Object.entries(record).filter(([, v]) => v !== undefined),
  ) as unknown as ProcessorRecord;
}

/** Workspaces: named groups of connections and processors. `default` always exists. */
import { conflict, invalid, notFound } from "./errors.ts";
import { nameProblem } from "./names.ts";
import type { StateStore } from "./state-store.ts";

export const DEFAULT_WORKSPACE = "default";
const COLLECTION = "workspaces";

export interface WorkspaceRecord {
  readonly name: string;
  readonly createdAt: Date;
}

export class WorkspaceRegistry {
  private readonly store: StateStore;

  constructor(store: StateStore) {
    this.store = store;
  }

  /** Creates `default` when the store has never seen it. */
  async init(): Promise<void> {
    if (!(await this.store.get(COLLECTION, DEFAULT_WORKSPACE))) {
      await this.store.put(COLLECTION, DEFAULT_WORKSPACE, { name: DEFAULT_WORKSPACE, createdAt: new Date() });
    }
  }

  async list(): Promise<WorkspaceRecord[]> {
    return (await this.store.list<WorkspaceRecord>(COLLECTION)).map((r) => r.value);
  }

  async find(name: string): Promise<WorkspaceRecord | undefined> {
    return this.store.get<WorkspaceRecord>(COLLECTION, name);
  }

  /** The workspace, or a not-found error saying how to create it. */
  async require(name: string): Promise<WorkspaceRecord> {
    const found = await this.find(name);
    if (!found) {
      throw notFound("WORKSPACE_NOT_FOUND", { workspace: name });
    }
    return found;
  }

  async create(name: unknown): Promise<WorkspaceRecord> {
    const problem = nameProblem(name, "name", "workspace");
    if (problem) throw invalid("INVALID_BODY", { problem: `${problem.path}: ${problem.message}` }, [problem]);
    const workspaceName = name as string;
    if (await this.find(workspaceName)) {
      throw conflict("WORKSPACE_ALREADY_EXISTS", { workspace: workspaceName });
    }
    const record: WorkspaceRecord = { name: workspaceName, createdAt: new Date() };
    await this.store.put(COLLECTION, workspaceName, record);
    return record;
  }

  async delete(name: string): Promise<void> {
    refuseDefaultDeletion(name);
    await this.require(name);
    await this.store.delete(COLLECTION, name);
  }
}

/** The `default` workspace always exists: deleting it is refused. */
export function refuseDefaultDeletion(name: string): void {
  if (name === DEFAULT_WORKSPACE) {
    throw conflict("WORKSPACE_IN_USE", {
      workspace: name,
      reason:
        "it is the default workspace, which always exists; delete its processors and connections instead",
    });
  }
}

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
      throw notFound(
        "WORKSPACE_NOT_FOUND",
        `workspace '${name}' does not exist; create it with POST /api/v1/workspaces {"name": "${name}"}`,
      );
    }
    return found;
  }

  async create(name: unknown): Promise<WorkspaceRecord> {
    const problem = nameProblem(name, "name", "workspace");
    if (problem) throw invalid("INVALID_BODY", `${problem.path}: ${problem.message}`, [problem]);
    const workspaceName = name as string;
    if (await this.find(workspaceName)) {
      throw conflict(
        "WORKSPACE_ALREADY_EXISTS",
        `a workspace named '${workspaceName}' already exists; pick another name or use it as it is`,
      );
    }
    const record: WorkspaceRecord = { name: workspaceName, createdAt: new Date() };
    await this.store.put(COLLECTION, workspaceName, record);
    return record;
  }

  async delete(name: string): Promise<void> {
    if (name === DEFAULT_WORKSPACE) {
      throw conflict("WORKSPACE_IN_USE", "the 'default' workspace always exists and cannot be deleted");
    }
    await this.require(name);
    await this.store.delete(COLLECTION, name);
  }
}

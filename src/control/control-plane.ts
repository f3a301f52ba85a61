/**
 * The control plane of `sp serve`: the state store, workspaces, their connection registries and the
 * processor manager, wired together. The HTTP server only translates requests into these calls.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Doc } from "../mql/index.ts";
import type { Logger } from "../runtime/log.ts";
import { ConnectionRegistry, type ConnectionView } from "./connection-registry.ts";
import { conflict } from "./errors.ts";
import { openStateStore } from "./open-state-store.ts";
import { supervisorLauncher, type ProcessorLauncher } from "./processor-launcher.ts";
import { ProcessorManager } from "./processor-manager.ts";
import { redactingLogger } from "./redacting-logger.ts";
import { Redactor } from "./redactor.ts";
import type { StateStore } from "./state-store.ts";
import { DEFAULT_WORKSPACE, WorkspaceRegistry } from "./workspace-registry.ts";
import type { SupervisorOptions } from "../runtime/supervisor.ts";

export interface ControlPlaneOptions {
  readonly dataDir: string;
  /** `EDDY_STATE_URI`: MongoDB or Redis; unset: the file store under `<dataDir>/state`. */
  readonly stateUri?: string;
  readonly logger: Logger;
  /** Folder whose `.env`/`config.txt` fill `{{VAR}}` (default: the working directory). */
  readonly envDir?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly checkpointIntervalMs?: number;
  readonly retry?: SupervisorOptions["retry"];
  readonly statsIntervalMs?: number;
  /**
   * Lease TTL for stores shared by several instances (MongoDB, Redis): a standby takes a processor over at
   * most this long after its holder dies. Default 15 s.
   */
  readonly leaseTtlMs?: number;
  /** This instance's id in leases; default `<host>:<pid>:<random>`. */
  readonly instanceId?: string;
  /** Replaces the supervisor-based launcher (tests of the control plane itself). */
  readonly launch?: ProcessorLauncher;
}

export const DEFAULT_LEASE_TTL_MS = 15_000;

export interface WorkspaceView {
  readonly name: string;
  readonly connections: number;
  readonly processors: number;
  readonly createdAt: string;
}

export class ControlPlane {
  readonly store: StateStore;
  readonly redactor: Redactor;
  readonly logger: Logger;
  readonly workspaces: WorkspaceRegistry;
  readonly connections: ConnectionRegistry;
  readonly processors: ProcessorManager;

  private constructor(store: StateStore, options: ControlPlaneOptions) {
    this.store = store;
    this.redactor = new Redactor();
    this.logger = redactingLogger(options.logger, this.redactor);
    this.workspaces = new WorkspaceRegistry(store);
    this.connections = new ConnectionRegistry(store, this.redactor);
    this.processors = new ProcessorManager({
      store,
      workspaces: this.workspaces,
      connections: this.connections,
      redactor: this.redactor,
      logger: this.logger,
      envDir: options.envDir ?? process.cwd(),
      env: options.env,
      statsIntervalMs: options.statsIntervalMs,
      ...(store.leases
        ? {
            leases: {
              store: store.leases(),
              owner: options.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`,
              ttlMs: options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS,
            },
          }
        : {}),
      launch:
        options.launch ??
        supervisorLauncher({
          checkpointIntervalMs: options.checkpointIntervalMs,
          retry: options.retry,
          logger: this.logger,
        }),
    });
  }

  /** Opens the state store and the registries; call `resume()` to bring STARTED processors back. */
  static async open(options: ControlPlaneOptions): Promise<ControlPlane> {
    const store = await openStateStore({ dataDir: options.dataDir, stateUri: options.stateUri });
    const plane = new ControlPlane(store, options);
    await plane.workspaces.init();
    await plane.connections.init();
    return plane;
  }

  /** Restarts every processor that was STARTED when the server last stopped (from its checkpoint). */
  async resume(): Promise<void> {
    await this.processors.resumeStarted();
  }

  async listWorkspaces(): Promise<WorkspaceView[]> {
    const out: WorkspaceView[] = [];
    for (const ws of await this.workspaces.list()) out.push(await this.getWorkspace(ws.name));
    return out;
  }

  async getWorkspace(name: string): Promise<WorkspaceView> {
    const ws = await this.workspaces.require(name);
    return {
      name: ws.name,
      connections: (await this.connections.list(ws.name)).length,
      processors: (await this.processors.counts()).get(ws.name) ?? 0,
      createdAt: ws.createdAt.toISOString(),
    };
  }

  async createWorkspace(name: unknown): Promise<WorkspaceView> {
    const record = await this.workspaces.create(name);
    return { name: record.name, connections: 0, processors: 0, createdAt: record.createdAt.toISOString() };
  }

  /** Deletes a workspace with its connections and (stopped) processors; 409 while a processor runs. */
  async deleteWorkspace(name: string): Promise<void> {
    await this.workspaces.require(name);
    if (name === DEFAULT_WORKSPACE) {
      throw conflict("WORKSPACE_IN_USE", "the 'default' workspace always exists and cannot be deleted");
    }
    await this.processors.dropAll(name);
    await this.connections.deleteAll(name);
    await this.workspaces.delete(name);
  }

  async listConnections(workspace: string): Promise<ConnectionView[]> {
    await this.workspaces.require(workspace);
    return this.connections.views(workspace);
  }

  async getConnection(workspace: string, name: string): Promise<ConnectionView> {
    await this.workspaces.require(workspace);
    return this.connections.view(workspace, name);
  }

  async createConnection(workspace: string, body: unknown): Promise<ConnectionView> {
    await this.workspaces.require(workspace);
    const record = await this.connections.create(workspace, body);
    this.logger.info("connection created", { workspace, connection: record.name, type: record.type });
    return this.connections.view(workspace, record.name);
  }

  async deleteConnection(workspace: string, name: string): Promise<void> {
    await this.workspaces.require(workspace);
    const users = this.processors.runningUsing(workspace, name);
    if (users.length > 0) {
      throw conflict(
        "CONNECTION_IN_USE",
        `connection '${name}' is used by started processor${users.length > 1 ? "s" : ""} ${users.join(", ")}; ` +
          "stop them first, then delete the connection",
      );
    }
    await this.connections.delete(workspace, name);
    this.logger.info("connection deleted", { workspace, connection: name });
  }

  /** Throws when the state store cannot be read (`/ready`). */
  async probe(): Promise<void> {
    await this.store.get<Doc>("workspaces", "default");
  }

  /** Stops processors with a final checkpoint (they stay STARTED) and closes the store. */
  async close(): Promise<void> {
    await this.processors.shutdown();
    await this.store.close();
  }
}

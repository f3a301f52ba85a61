/**
 * The control plane of `sp serve`: the state store, workspaces, their connection registries and the
 * processor manager, wired together. The HTTP server only translates requests into these calls.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Doc } from "../mql/index.ts";
import type { Logger } from "../runtime/log.ts";
import { ConnectionRegistry, type ConnectionView } from "./connection-registry.ts";
import { checkConnection } from "./connection-validation.ts";
import { lockDataDir, prepareDataDir, type DataDirLock } from "./data-dir.ts";
import { conflict } from "./errors.ts";
import { checkFileAccess, localFileOf, type PipelineAccess } from "./file-access.ts";
import { DEFAULT_ENV_ALLOW_LIST, placeholdersIn, type EnvAllowList } from "./placeholders.ts";
import { openStateStore } from "./open-state-store.ts";
import { supervisorLauncher, type ProcessorLauncher } from "./processor-launcher.ts";
import { ProcessorManager } from "./processor-manager.ts";
import { redactingLogger } from "./redacting-logger.ts";
import { Redactor } from "./redactor.ts";
import type { StateStore } from "./state-store.ts";
import { refuseDefaultDeletion, WorkspaceRegistry } from "./workspace-registry.ts";
import type { SupervisorOptions } from "../runtime/supervisor.ts";

export interface ControlPlaneOptions {
  readonly dataDir: string;
  /** `EDDY_STATE_URI`: MongoDB or Redis; unset: the file store under `<dataDir>/state`. */
  readonly stateUri?: string;
  readonly logger: Logger;
  /** Folder whose `.env`/`config.txt` fill `{{VAR}}` (default: the working directory). */
  readonly envDir?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Environment variables placeholders may read (default: names starting with EDDY_; docs/security.md). */
  readonly variables?: EnvAllowList;
  /** Folders File connections may read (default: `envDir`); the data directory never. */
  readonly fileRoots?: readonly string[];
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

  private readonly access: PipelineAccess;

  private readonly lock: DataDirLock | undefined;

  private constructor(store: StateStore, options: ControlPlaneOptions, lock: DataDirLock | undefined) {
    this.store = store;
    this.lock = lock;
    const envDir = options.envDir ?? process.cwd();
    this.access = {
      env: options.variables ?? DEFAULT_ENV_ALLOW_LIST,
      files: { roots: options.fileRoots ?? [envDir], forbidden: [options.dataDir] },
    };
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
      envDir,
      env: options.env,
      access: this.access,
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
    await prepareDataDir(options.dataDir);
    // The file store lives in the data directory: one server at a time (shared stores have leases).
    const lock = options.stateUri?.trim() ? undefined : await lockDataDir(options.dataDir);
    let store: StateStore;
    try {
      store = await openStateStore({ dataDir: options.dataDir, stateUri: options.stateUri });
    } catch (error) {
      await lock?.release();
      throw error;
    }
    const plane = new ControlPlane(store, options, lock);
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
    refuseDefaultDeletion(name);
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
    await this.checkFilePath(workspace, body);
    const record = await this.connections.create(workspace, body);
    this.logger.info("connection created", { workspace, connection: record.name, type: record.type });
    return this.connections.view(workspace, record.name);
  }

  /** Replaces a connection's settings; refused while a running processor uses it (stop it first). */
  async replaceConnection(workspace: string, name: string, body: unknown): Promise<ConnectionView> {
    await this.workspaces.require(workspace);
    const users = this.processors.runningUsing(workspace, name);
    if (users.length > 0) {
      throw conflict("CONNECTION_IN_USE", { name, processors: users.join(", ") });
    }
    await this.checkFilePath(workspace, body);
    const record = await this.connections.replace(workspace, name, body);
    this.logger.info("connection replaced", { workspace, connection: record.name, type: record.type });
    return this.connections.view(workspace, record.name);
  }

  async deleteConnection(workspace: string, name: string): Promise<void> {
    await this.workspaces.require(workspace);
    const users = this.processors.runningUsing(workspace, name);
    if (users.length > 0) {
      throw conflict("CONNECTION_IN_USE", { name, processors: users.join(", ") });
    }
    await this.connections.delete(workspace, name);
    this.logger.info("connection deleted", { workspace, connection: name });
  }

  /** A File connection's literal path must be readable under the access policy (one with `{{VAR}}` is checked at start). */
  private async checkFilePath(workspace: string, body: unknown): Promise<void> {
    const { entry } = checkConnection(body);
    const path = localFileOf(entry);
    if (!entry || path === undefined || placeholdersIn(path).length > 0) return;
    await checkFileAccess(path, this.access.files, `connection '${entry.name}' in workspace '${workspace}'`);
  }

  /** Throws when the state store cannot be read (`/ready`). */
  async probe(): Promise<void> {
    await this.store.get<Doc>("workspaces", "default");
  }

  /** Stops processors with a final checkpoint (they stay STARTED) and closes the store. */
  async close(): Promise<void> {
    await this.processors.shutdown();
    await this.store.close();
    await this.lock?.release();
  }
}

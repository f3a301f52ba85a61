/**
 * The connection registry of each workspace. Bodies are stored as they were sent, `{{VAR}}` placeholders
 * included; placeholders are resolved only when a processor starts, and responses hide literal secrets.
 */
import { isPlainObject, type Doc } from "../mql/index.ts";
import { BUILTIN_CONNECTIONS, catalogOf } from "../pipeline/index.ts";
import { parseConnections } from "../connectors/connections.ts";
import type { ConnectionEntry } from "../pipeline/plan.ts";
import { hideConnectionSecrets } from "./connection-secrets.ts";
import { checkConnection } from "./connection-validation.ts";
import { conflict, invalid, notFound } from "./errors.ts";
import { MissingVariableError, resolvePlaceholders } from "./placeholders.ts";
import type { Redactor } from "./redactor.ts";
import type { StateStore } from "./state-store.ts";
import type { MapConnectionCatalog } from "../pipeline/connections.ts";

const COLLECTION = "connections";

export interface ConnectionRecord {
  readonly workspace: string;
  readonly name: string;
  readonly type: string;
  /** The body as sent (placeholders unresolved). */
  readonly body: Doc;
  readonly createdAt: Date;
}

/** A connection as the API shows it. */
export interface ConnectionView extends Doc {
  readonly name: string;
  readonly type: string;
  readonly workspace: string;
  readonly builtIn?: boolean;
  readonly createdAt?: string;
}

export class ConnectionRegistry {
  private readonly store: StateStore;
  private readonly redactor: Redactor;

  constructor(store: StateStore, redactor: Redactor) {
    this.store = store;
    this.redactor = redactor;
  }

  /** Registers the literal secrets of every stored connection with the redactor. */
  async init(): Promise<void> {
    for (const { value } of await this.store.list<ConnectionRecord>(COLLECTION)) this.registerSecrets(value);
  }

  async list(workspace: string): Promise<ConnectionRecord[]> {
    const prefix = `${workspace}/`;
    return (await this.store.list<ConnectionRecord>(COLLECTION))
      .filter((r) => r.id.startsWith(prefix))
      .map((r) => r.value);
  }

  async find(workspace: string, name: string): Promise<ConnectionRecord | undefined> {
    return this.store.get<ConnectionRecord>(COLLECTION, key(workspace, name));
  }

  async create(workspace: string, body: unknown): Promise<ConnectionRecord> {
    const entry = checkedEntry(body);
    if (await this.find(workspace, entry.name)) {
      throw conflict("CONNECTION_ALREADY_EXISTS", { name: entry.name, workspace });
    }
    return this.save(workspace, entry, body, new Date());
  }

  /** Replaces a registered connection's settings with `body` (same name and creation time). */
  async replace(workspace: string, name: string, body: unknown): Promise<ConnectionRecord> {
    const named = isPlainObject(body) && body.name === undefined ? { ...body, name } : body;
    const entry = checkedEntry(named);
    if (entry.name !== name) {
      throw invalid("INVALID_CONNECTION", {
        problem: `name: expected '${name}' (the connection being replaced), got '${entry.name}'`,
      });
    }
    const existing = await this.find(workspace, name);
    if (!existing) {
      if (BUILTIN_CONNECTIONS.some((c) => c.name === name)) throw conflict("CONNECTION_BUILT_IN", { name });
      throw this.missing(workspace, name);
    }
    return this.save(workspace, entry, named, existing.createdAt);
  }

  private async save(
    workspace: string,
    entry: ConnectionEntry,
    body: unknown,
    createdAt: Date,
  ): Promise<ConnectionRecord> {
    const record: ConnectionRecord = {
      workspace,
      name: entry.name,
      type: entry.type,
      body: body as Doc,
      createdAt,
    };
    this.registerSecrets(record);
    await this.store.put(COLLECTION, key(workspace, entry.name), record);
    return record;
  }

  async delete(workspace: string, name: string): Promise<void> {
    if (!(await this.store.delete(COLLECTION, key(workspace, name)))) {
      if (BUILTIN_CONNECTIONS.some((c) => c.name === name)) {
        throw conflict("CONNECTION_BUILT_IN", { name });
      }
      throw this.missing(workspace, name);
    }
  }

  async deleteAll(workspace: string): Promise<void> {
    for (const record of await this.list(workspace))
      await this.store.delete(COLLECTION, key(workspace, record.name));
  }

  /** The view of one connection (registered or built in), or a not-found error. */
  async view(workspace: string, name: string): Promise<ConnectionView> {
    const record = await this.find(workspace, name);
    if (record) return this.toView(record);
    const builtIn = BUILTIN_CONNECTIONS.find((c) => c.name === name);
    if (builtIn) return builtInView(workspace, builtIn);
    throw this.missing(workspace, name);
  }

  /** Registered connections plus the built-ins they do not override. */
  async views(workspace: string): Promise<ConnectionView[]> {
    const records = await this.list(workspace);
    const names = new Set(records.map((r) => r.name));
    return [
      ...records.map((r) => this.toView(r)),
      ...BUILTIN_CONNECTIONS.filter((c) => !names.has(c.name)).map((c) => builtInView(workspace, c)),
    ];
  }

  /** The workspace's catalog with placeholders unresolved (enough to plan and validate a definition). */
  async catalog(workspace: string): Promise<MapConnectionCatalog> {
    return catalogOf((await this.list(workspace)).flatMap((r) => parseConnections([r.body])));
  }

  /**
   * The catalog of the connections named in `only` with `{{VAR}}` resolved from `variables` (other
   * connections' variables need not be set); every resolved value is registered for redaction.
   * A missing variable is an `invalid` ControlError naming the variable and the connection.
   */
  async resolvedCatalog(
    workspace: string,
    variables: Readonly<Record<string, string>>,
    only: ReadonlySet<string>,
    withheld?: (variable: string) => boolean,
  ): Promise<MapConnectionCatalog> {
    const entries: ConnectionEntry[] = [];
    for (const record of await this.list(workspace)) {
      if (!only.has(record.name)) continue;
      const file = `connection '${record.name}' in workspace '${workspace}'`;
      try {
        const body = resolvePlaceholders(record.body, variables, {
          file,
          redactor: this.redactor,
          withheld,
        });
        entries.push(...parseConnections([body]));
      } catch (error) {
        if (error instanceof MissingVariableError) {
          throw invalid("MISSING_VARIABLE", { problem: error.message }, [
            {
              path: `connections.${record.name}.${error.path}`,
              message: error.message,
              expected: `${error.variable} to be set`,
            },
          ]);
        }
        throw error;
      }
    }
    return catalogOf(entries);
  }

  private toView(record: ConnectionRecord): ConnectionView {
    return {
      ...hideConnectionSecrets(record.body),
      name: record.name,
      type: record.type,
      workspace: record.workspace,
      createdAt: record.createdAt.toISOString(),
    };
  }

  private registerSecrets(record: ConnectionRecord): void {
    hideConnectionSecrets(record.body, (secret) => this.redactor.add(secret));
  }

  private missing(workspace: string, name: string): Error {
    return notFound("CONNECTION_NOT_FOUND", { name, workspace });
  }
}

function key(workspace: string, name: string): string {
  return `${workspace}/${name}`;
}

function builtInView(workspace: string, entry: ConnectionEntry): ConnectionView {
  return { name: entry.name, type: entry.type, workspace, builtIn: true };
}

/** The connection `body` describes, or INVALID_CONNECTION naming its first problem. */
function checkedEntry(body: unknown): ConnectionEntry {
  const check = checkConnection(body);
  if (check.problems) {
    const first = check.problems[0];
    const more = check.problems.length > 1 ? ` (and ${check.problems.length - 1} more)` : "";
    const problem = `${first.path ? `${first.path}: ` : ""}${first.message}${more}`;
    throw invalid("INVALID_CONNECTION", { problem }, check.problems);
  }
  return check.entry;
}

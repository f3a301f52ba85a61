/**
 * A small typed client for Eddy's HTTP API (`/api/v1`, docs/api.md). Every failure becomes a `CliError`
 * whose message is the server's `detail` and whose hint says what to do next.
 */
import { CliError, EXIT } from "./errors.ts";
import type { ErrorCode } from "../errors/codes.ts";
import type { KafkaDropResult } from "../control/scale/scaled-resources.ts";

export type JsonObject = { [key: string]: unknown };

export interface ApiProblem {
  readonly path: string;
  readonly message: string;
  readonly expected?: unknown;
  readonly got?: unknown;
}

/** The API's error body (Atlas-like). */
export interface ApiErrorBody {
  readonly error: number;
  readonly reason?: string;
  readonly errorCode?: string;
  readonly detail?: string;
  readonly problems?: readonly ApiProblem[];
}

export interface Workspace {
  readonly name: string;
  /** A count, or the list itself, depending on the server version. */
  readonly connections?: number | readonly unknown[];
  readonly processors?: number | readonly unknown[];
  readonly createdAt?: string | number;
}

export interface Connection extends JsonObject {
  readonly name: string;
  readonly type: string;
}

export type ProcessorState = "CREATED" | "STARTED" | "STOPPED" | "FAILED";

export interface SupervisorStatus {
  readonly state: "running" | "retrying" | "stopped" | "failed";
  readonly error?: { readonly message: string; readonly retryable: boolean; readonly at: number };
  readonly restarts: number;
  readonly nextRetryAt?: number;
}

export interface Processor {
  readonly id?: string;
  readonly name: string;
  readonly workspace?: string;
  readonly pipeline: readonly unknown[];
  readonly options?: JsonObject;
  readonly state: ProcessorState;
  readonly lastStateChange?: string | number;
  readonly lastModified?: string | number;
  readonly errorMsg?: string;
  readonly status?: SupervisorStatus;
}

/** ASP's stats document (docs/asp-semantics.md §7.1); only the fields the CLI reads are typed. */
export interface ProcessorStatsDoc extends JsonObject {
  readonly name?: string;
  readonly status?: string;
  readonly inputMessageCount?: number;
  readonly inputMessageSize?: number;
  readonly outputMessageCount?: number;
  readonly outputMessageSize?: number;
  readonly dlqMessageCount?: number;
  readonly dlqMessageSize?: number;
  readonly stateSize?: number;
  readonly watermark?: unknown;
  readonly kafkaTotalOffsetLag?: number;
  readonly changeStreamTimeDifferenceSecs?: number;
  /** Verbose stats: source-to-sink latency percentiles. */
  readonly latency?: { readonly p50?: number; readonly p99?: number; readonly unit?: string };
  readonly memoryUsageBytes?: number;
  /** A scaled-out processor's tasks (Eddy extension, docs/scale-out.md). */
  readonly tasks?: readonly TaskStatsDoc[];
}

/** One task of a scaled-out processor in `stats.tasks`. */
export interface TaskStatsDoc extends JsonObject {
  readonly task: number;
  readonly instance: string;
  readonly partitions: readonly number[];
  readonly sourcePartitions?: readonly string[];
  readonly inputMessageCount?: number;
  readonly outputMessageCount?: number;
  readonly lag?: number;
  /** Checkpoint saves the state store refused because a partition's lease had moved on. */
  readonly refusedCheckpoints?: number;
}

export interface StatsReply extends JsonObject {
  readonly ok: number;
  readonly ns: string;
  readonly stats: ProcessorStatsDoc;
  readonly pipeline?: readonly unknown[];
}

/** `DELETE …/processors/<name>`'s reply. */
export interface DropReply {
  readonly deleted: string;
  /** A scaled-out processor's Kafka repartition topic and consumer groups: what became of each. */
  readonly kafka?: readonly KafkaDropResult[];
}

export interface ProcessorDefinition {
  readonly name: string;
  readonly pipeline: readonly unknown[];
  readonly options?: JsonObject;
}

export interface StartOptions {
  readonly resumeFromCheckpoint?: boolean;
  readonly startAtOperationTime?: string;
  readonly startAfter?: unknown;
}

export interface ClientOptions {
  /** Base URL, e.g. http://127.0.0.1:8470 (with or without a trailing slash). */
  readonly server: string;
  readonly token?: string;
  /** Where the token came from, named in 401 hints ("--token", "EDDY_API_TOKEN", a file path). */
  readonly tokenSource?: string;
  /** Per-request timeout; default 60 s (starting a processor connects to its servers). */
  readonly timeoutMs?: number;
}

/** An error reply of the API; commands read `status`/`errorCode` to add a hint of their own. */
export class ApiError extends CliError {
  readonly status: number;
  readonly errorCode: string | undefined;
  readonly problems: readonly ApiProblem[];

  constructor(status: number, body: ApiErrorBody | undefined, message: string, hint?: string) {
    super(message, { exitCode: status === 401 || status === 403 ? EXIT.auth : EXIT.failed, hint });
    this.status = status;
    this.errorCode = body?.errorCode;
    this.problems = body?.problems ?? [];
  }

  /** Whether the server answered with `code` (one of src/errors/codes.ts). */
  is(code: ErrorCode): boolean {
    return this.errorCode === code;
  }
}

export class EddyClient {
  readonly server: string;
  private readonly token: string | undefined;
  private readonly tokenSource: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: ClientOptions) {
    this.server = options.server.replace(/\/+$/, "");
    this.token = options.token;
    this.tokenSource = options.tokenSource;
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  async listWorkspaces(): Promise<Workspace[]> {
    return results<Workspace>(await this.request("GET", "/workspaces"));
  }

  async createWorkspace(name: string): Promise<Workspace> {
    return (await this.request("POST", "/workspaces", { name })) as Workspace;
  }

  async deleteWorkspace(name: string): Promise<void> {
    await this.request("DELETE", `/workspaces/${seg(name)}`);
  }

  async listConnections(workspace: string): Promise<Connection[]> {
    return results<Connection>(await this.request("GET", `/workspaces/${seg(workspace)}/connections`));
  }

  async createConnection(workspace: string, connection: JsonObject): Promise<Connection> {
    return (await this.request(
      "POST",
      `/workspaces/${seg(workspace)}/connections`,
      connection,
    )) as Connection;
  }

  async deleteConnection(workspace: string, name: string): Promise<void> {
    await this.request("DELETE", `/workspaces/${seg(workspace)}/connections/${seg(name)}`);
  }

  async listProcessors(workspace: string): Promise<Processor[]> {
    return results<Processor>(await this.request("GET", `/workspaces/${seg(workspace)}/processors`));
  }

  async getProcessor(workspace: string, name: string): Promise<Processor> {
    return (await this.request("GET", this.processorPath(workspace, name))) as Processor;
  }

  async createProcessor(workspace: string, definition: ProcessorDefinition): Promise<Processor> {
    return (await this.request("POST", `/workspaces/${seg(workspace)}/processors`, definition)) as Processor;
  }

  async modifyProcessor(
    workspace: string,
    name: string,
    change: Partial<ProcessorDefinition>,
  ): Promise<Processor> {
    return (await this.request("PATCH", this.processorPath(workspace, name), change)) as Processor;
  }

  /** Resolves to the reply: `{deleted}`, with `kafka` (what became of each Kafka resource) for a scaled-out one. */
  async dropProcessor(workspace: string, name: string): Promise<DropReply> {
    return (await this.request("DELETE", this.processorPath(workspace, name))) as DropReply;
  }

  async startProcessor(workspace: string, name: string, options?: StartOptions): Promise<void> {
    await this.request("POST", `${this.processorPath(workspace, name)}:start`, options ?? {});
  }

  /** Resolves to the reply, which may carry the final `stats` (as the engine's stop does). */
  async stopProcessor(workspace: string, name: string): Promise<JsonObject | undefined> {
    return (await this.request("POST", `${this.processorPath(workspace, name)}:stop`, {})) as
      JsonObject | undefined;
  }

  async stats(
    workspace: string,
    name: string,
    options: { verbose?: boolean; scale?: number } = {},
  ): Promise<StatsReply> {
    const query = new URLSearchParams();
    if (options.verbose) query.set("verbose", "true");
    if (options.scale !== undefined) query.set("scale", String(options.scale));
    const suffix = query.size > 0 ? `?${query}` : "";
    return (await this.request("GET", `${this.processorPath(workspace, name)}/stats${suffix}`)) as StatsReply;
  }

  /** Dispatch jobs (servers running event dispatch); `query` holds status, subscriptionId, eventId, clientId, limit. */
  async listDispatchJobs(query: Readonly<Record<string, string>>): Promise<JsonObject[]> {
    const search = new URLSearchParams(query).toString();
    const reply = (await this.request("GET", `/dispatch/jobs${search ? `?${search}` : ""}`)) as {
      results: JsonObject[];
    };
    return reply.results;
  }

  /** The matcher's ASP-style stats and the jobs by status (servers running event dispatch). */
  async dispatchStats(options: { verbose?: boolean } = {}): Promise<JsonObject> {
    return (await this.request(
      "GET",
      `/dispatch/stats${options.verbose ? "?verbose=true" : ""}`,
    )) as JsonObject;
  }

  async dispatchJobAction(id: string, action: "retry" | "cancel"): Promise<JsonObject> {
    return (await this.request("POST", `/dispatch/jobs/${seg(id)}:${action}`)) as JsonObject;
  }

  private processorPath(workspace: string, name: string): string {
    return `/workspaces/${seg(workspace)}/processors/${seg(name)}`;
  }

  /** Sends one request; resolves to the parsed JSON body (undefined for an empty one). */
  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = `${this.server}/api/v1${path}`;
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw this.transportError(error);
    }
    const text = await response.text();
    const parsed = parseBody(text);
    if (response.ok) return parsed;
    throw this.apiError(method, response.status, parsed, text);
  }

  private transportError(error: unknown): CliError {
    const name = (error as Error).name;
    if (name === "TimeoutError" || name === "AbortError") {
      return new CliError(
        `the Eddy server at ${this.server} did not answer within ${this.timeoutMs / 1000} s`,
        {
          exitCode: EXIT.unreachable,
          hint: `check that it is running (its log, curl ${this.server}/health), or pass a longer --timeout`,
        },
      );
    }
    const code = errorCode(error);
    return new CliError(`no Eddy server at ${this.server}${code ? ` (${code})` : ""}`, {
      exitCode: EXIT.unreachable,
      hint: "start one with `sp serve`, or pass --server URL (or set EDDY_SERVER) to use another one",
    });
  }

  private apiError(method: string, status: number, parsed: unknown, text: string): ApiError {
    const body = isErrorBody(parsed) ? parsed : undefined;
    const detail =
      body?.detail ??
      body?.reason ??
      (text.trim() ? text.trim().slice(0, 500) : `HTTP ${status} from ${method} ${this.server}`);
    // A problem the detail already spells out (one-problem errors) is not printed twice.
    const problems = (body?.problems ?? []).filter((p) => !detail.includes(p.message));
    const message =
      problems.length === 0
        ? detail
        : `${detail}\n${problems.map((p) => `  ${p.path ? `${p.path}: ` : ""}${p.message}`).join("\n")}`;
    return new ApiError(status, body, message, this.hintFor(status, body?.errorCode));
  }

  /** What to do next, in `sp` terms, for errors whose server detail speaks HTTP. */
  private hintFor(status: number, code: string | undefined): string | undefined {
    if (status === 401 || status === 403) {
      return this.token
        ? `the token from ${this.tokenSource ?? "--token"} is not this server's: pass the right one with --token TOKEN ` +
            `or EDDY_API_TOKEN (a local \`sp serve\` keeps it in <data dir>/api-token; --data-dir DIR tells sp where)`
        : `pass the server's token with --token TOKEN or EDDY_API_TOKEN; for a server on this machine sp reads ` +
            `<data dir>/api-token itself when --data-dir DIR (or EDDY_DATA_DIR) names the server's data dir`;
    }
    switch (code) {
      case "PROCESSOR_NOT_FOUND":
        return "sp processors list shows the workspace's processors; sp processors create deploys processors/*.json";
      case "WORKSPACE_NOT_FOUND":
        return "sp workspaces list shows the workspaces; sp workspaces create NAME makes one";
      case "CONNECTION_NOT_FOUND":
        return "sp workspaces connections list shows the workspace's connections";
      case "PAYLOAD_TOO_LARGE":
        return "the server refuses bodies this large (sp serve --max-body-bytes N raises the limit)";
    }
    return undefined;
  }
}

/** The system error code (ECONNREFUSED…) under fetch's generic "fetch failed". */
function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && code !== "") return code;
    const nested = (current as { errors?: unknown[] }).errors;
    current = Array.isArray(nested) && nested.length > 0 ? nested[0] : (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** `{results: [...]}` or a bare array. */
function results<T>(body: unknown): T[] {
  if (Array.isArray(body)) return body as T[];
  const list = (body as { results?: unknown } | undefined)?.results;
  return Array.isArray(list) ? (list as T[]) : [];
}

function parseBody(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  return typeof value === "object" && value !== null && typeof (value as ApiErrorBody).error === "number";
}

function seg(value: string): string {
  return encodeURIComponent(value);
}

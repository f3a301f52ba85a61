/**
 * Every error code Eddy's API answers with and every exit code of the `sp` command, defined once: the HTTP
 * status, when it happens and the message template every error of that code is built from (the text
 * docs/api.md's and docs/cli.md's tables are generated from, see scripts/docs/error-codes.ts). Any layer may
 * import this module; it imports nothing.
 */

export interface ErrorCodeSpec {
  readonly status: number;
  /** When the code is answered (the docs' table). */
  readonly when: string;
  /**
   * The reply's `detail`: what went wrong and what to do next. `{name}` is a parameter the error fills in
   * (`errorMessage`); every error of the code has this wording.
   */
  readonly message: string;
}

export const ERROR_CODES = {
  INVALID_JSON: {
    status: 400,
    when: "the body is not JSON; `detail` names line, column and position",
    message: "the request body is not valid {format}: {problem}; fix it and send the request again",
  },
  INVALID_BODY: {
    status: 400,
    when: "the body has the wrong shape (types, missing or unknown fields, bad names)",
    message: "invalid request body: {problem}; fix it and send the request again",
  },
  INVALID_PIPELINE: {
    status: 400,
    when: "the definition does not plan: ASP's messages, one problem per issue, with the JSON path",
    message:
      "invalid processor definition: {problem}; see problems[] for each issue (sp lint checks a definition locally)",
  },
  INVALID_CONNECTION: {
    status: 400,
    when: "a connection body is invalid (unknown type, missing `config.uri`, …)",
    message: "invalid connection: {problem}; fix the connection and send it again",
  },
  PATH_NOT_ALLOWED: {
    status: 400,
    when: "a File connection's `path` is outside the server's allowed directories (`--allow-dir`), or inside its data directory",
    message:
      "{where}: '{path}' is {reason}; allowed: {allowed}; move the file there, or start sp serve with --allow-dir DIR (or EDDY_ALLOW_DIRS=DIR,…) naming its folder",
  },
  MISSING_VARIABLE: {
    status: 400,
    when: "start: a `{{VAR}}` is not set or not allowed (see docs/security.md); names the variable, the connection/processor and the path; state unchanged",
    message: "the processor cannot start (its state is unchanged): {problem}",
  },
  MODIFY_NEEDS_RESET: {
    status: 400,
    when: "modify would break the checkpoint (ASP's text, e.g. `resumeFromCheckpoint must be false to modify a stream processor's $source stage`)",
    message:
      '{reason}; send "resumeFromCheckpoint": false to apply this change and start afresh (the checkpoint and window state are discarded; summary stats are kept)',
  },
  INVALID_QUERY: {
    status: 400,
    when: "a bad query parameter (`scale=0`)",
    message: "query parameter {name} must be {expected}, got '{got}'; fix the query string",
  },
  INVALID_PATH: {
    status: 400,
    when: "the URL is not validly encoded",
    message: "the path '{path}' is not validly URL-encoded; encode it and send the request again",
  },
  BAD_REQUEST: {
    status: 400,
    when: "the request itself is malformed (e.g. a `Content-Length` that does not match the body)",
    message: "the request is malformed: {problem}; send a well-formed HTTP request",
  },
  UNAUTHORIZED: {
    status: 401,
    when: "no `Authorization: Bearer <token>` header",
    message:
      "this request needs 'Authorization: Bearer <token>'; the token is the server's --token / EDDY_API_TOKEN, or the one `sp serve` wrote to <data dir>/api-token",
  },
  INVALID_TOKEN: {
    status: 401,
    when: "the bearer token is not the server's",
    message:
      "the bearer token is not valid for this server; use the token in <data dir>/api-token or the server's --token",
  },
  NOT_FOUND: {
    status: 404,
    when: "no such endpoint",
    message: "no API endpoint at {method} {path}; see docs/api.md for the endpoints",
  },
  WORKSPACE_NOT_FOUND: {
    status: 404,
    when: "no workspace `<ws>`",
    message:
      "workspace '{workspace}' does not exist; create it with POST /api/v1/workspaces and the name '{workspace}'",
  },
  CONNECTION_NOT_FOUND: {
    status: 404,
    when: "no connection `<name>` in the workspace",
    message:
      "no connection named '{name}' in workspace '{workspace}'; list them with GET /api/v1/workspaces/{workspace}/connections",
  },
  PROCESSOR_NOT_FOUND: {
    status: 404,
    when: "no processor `<name>` in the workspace",
    message:
      "no processor named '{name}' in workspace '{workspace}'; list them with GET /api/v1/workspaces/{workspace}/processors",
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    when: "wrong method (the `Allow` header lists the right ones)",
    message: "{method} is not allowed on {path}; use {allowed}",
  },
  WORKSPACE_ALREADY_EXISTS: {
    status: 409,
    when: "a workspace with that name exists",
    message: "a workspace named '{workspace}' already exists; pick another name or use it as it is",
  },
  CONNECTION_ALREADY_EXISTS: {
    status: 409,
    when: "a connection with that name exists in the workspace",
    message:
      "a connection named '{name}' already exists in workspace '{workspace}'; delete it first (no running processor may use it) or pick another name",
  },
  PROCESSOR_ALREADY_EXISTS: {
    status: 409,
    when: "a processor with that name exists in the workspace",
    message:
      "a processor named '{name}' already exists in workspace '{workspace}'; drop it first or pick another name",
  },
  PROCESSOR_ALREADY_STARTED: {
    status: 409,
    when: "start on a STARTED processor: `stream processor name already exists: <name> — …`",
    message:
      "stream processor name already exists: {name} — processor '{name}' in workspace '{workspace}' is already STARTED; stop it first if you want to restart it",
  },
  PROCESSOR_NOT_STARTED: {
    status: 409,
    when: "stop on a processor that is not STARTED: `stream processor does not exist: <name> — …`",
    message:
      "stream processor does not exist: {name} — processor '{name}' in workspace '{workspace}' is {state}, not STARTED, so there is nothing to stop; start it first",
  },
  PROCESSOR_RUNNING: {
    status: 409,
    when: "modify on a STARTED processor",
    message:
      "processor '{name}' in workspace '{workspace}' is STARTED; a processor must be stopped before it can be modified: stop it, modify it, then start it again",
  },
  CONNECTION_IN_USE: {
    status: 409,
    when: "delete or replace a connection that a started processor uses",
    message:
      "connection '{name}' is used by started processors ({processors}); stop them first, then change or delete the connection",
  },
  CONNECTION_BUILT_IN: {
    status: 409,
    when: "delete or replace a built-in connection",
    message:
      "'{name}' is a built-in connection and cannot be deleted or replaced; create a connection with another name instead",
  },
  WORKSPACE_IN_USE: {
    status: 409,
    when: "delete a workspace with started processors, or `default`",
    message: "workspace '{workspace}' cannot be deleted: {reason}",
  },
  SHUTTING_DOWN: {
    status: 409,
    when: "the server is stopping",
    message: "the server is shutting down; retry once it is back",
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    when: "body over the limit (`--max-body-bytes`); the connection is closed",
    message:
      "the request body ({size}) is larger than the limit of {limit} bytes; send a smaller definition, or start the server with a larger --max-body-bytes",
  },
  HOST_NOT_ALLOWED: {
    status: 421,
    when: "the `Host` header names neither the address the server is bound to nor a name given with `--allowed-host` (DNS rebinding protection)",
    message:
      "the Host header {problem}; it answers to {names}. To reach it under another name, start it with --allowed-host NAME (or EDDY_ALLOWED_HOSTS=NAME,…)",
  },
  PROCESSOR_START_FAILED: {
    status: 422,
    when: "the processor could not start (e.g. authentication refused); it is FAILED with `errorMsg`",
    message:
      "processor '{name}' could not start: {error}; it is FAILED now — fix the cause (connection, credentials, source position) and start it again",
  },
  INTERNAL_ERROR: {
    status: 500,
    when: "a server bug; the stack is in the server log",
    message:
      "the server failed to handle the request: {error}; check the server log, and report it if it persists",
  },
  NOT_READY: {
    status: 503,
    when: "`/ready`: the state store cannot be reached",
    message: "the state store cannot be reached: {error}; check EDDY_STATE_URI and the store's server",
  },
  SOURCE_UNREACHABLE: {
    status: 503,
    when: "`/ready`: a STARTED processor cannot reach its source (or is retrying)",
    message:
      "not ready: started processors cannot reach their source: {processors}; see /health for each connection's last error",
  },
  DISPATCH_NOT_CONFIGURED: {
    status: 404,
    when: "a `/dispatch/…` route on a server started without `FC_MONGO_URL` (docs/event-dispatch.md)",
    message:
      "this server does not run event dispatch: start sp serve with FC_MONGO_URL (and FC_MONGO_DB) set",
  },
  JOB_NOT_FOUND: {
    status: 404,
    when: "no dispatch job `<id>`",
    message: "no dispatch job '{id}': list jobs with 'sp jobs list'",
  },
  JOB_STATE_CONFLICT: {
    status: 409,
    when: "retry or cancel of a dispatch job in a state that forbids it",
    message: "dispatch job '{id}' is {status}; only {allowed} jobs can be changed this way",
  },
  INVALID_JOB_QUERY: {
    status: 400,
    when: "a bad `status`/`limit` filter when listing dispatch jobs",
    message: "{field} must be {expected}, got '{got}'; fix the filter and list again",
  },
} as const satisfies Readonly<Record<string, ErrorCodeSpec>>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The `{name}` parameters of a template, e.g. "name" | "workspace". */
type ParameterNames<T extends string> = T extends `${string}{${infer P}}${infer Rest}`
  ? P | ParameterNames<Rest>
  : never;

/** What code `C`'s message template needs: one value per parameter (`{}` for a template without any). */
export type MessageParams<C extends ErrorCode> = {
  readonly [P in ParameterNames<(typeof ERROR_CODES)[C]["message"]>]: string | number;
};

const PARAMETER = /\{([A-Za-z][A-Za-z0-9]*)\}/g;

/** Code `code`'s message with its parameters filled in (values are inserted as they are, never re-read). */
export function errorMessage<C extends ErrorCode>(code: C, params: MessageParams<C>): string {
  const values = params as Readonly<Record<string, string | number>>;
  return ERROR_CODES[code].message.replace(PARAMETER, (_, name: string) => String(values[name]));
}

/** The parameter names of a template, in order of first appearance. */
export function templateParameters(template: string): string[] {
  return [...new Set([...template.matchAll(PARAMETER)].map((match) => match[1]))];
}

export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

/** The standard reason phrase of every status the API answers with. */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Payload Too Large",
  421: "Misdirected Request",
  422: "Unprocessable Entity",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export interface ExitCodeSpec {
  readonly code: number;
  readonly when: string;
}

/** Exit codes of the `sp` command. */
export const EXIT_CODES = {
  ok: { code: 0, when: "done" },
  failed: {
    code: 1,
    when: "it failed: the server refused a request (4xx other than 401/403, 5xx), a processor failed, or `sp serve` could not start (e.g. another server holds its data directory)",
  },
  usage: {
    code: 2,
    when: "usage error, or invalid local files (a workspace folder, a definition): **nothing was sent**",
  },
  unreachable: {
    code: 3,
    when: "no server answered at the URL (connection refused, DNS, timeout) — start one with `sp serve`",
  },
  auth: { code: 4, when: "the server refused the API token (401/403): none was given, or a wrong one" },
} as const satisfies Readonly<Record<string, ExitCodeSpec>>;

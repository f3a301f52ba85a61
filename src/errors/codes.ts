/**
 * Every error code Eddy's API answers with and every exit code of the `sp` command, defined once: the HTTP
 * status, and when it happens (the text docs/api.md's and docs/cli.md's tables are generated from, see
 * scripts/docs/error-codes.ts). Any layer may import this module; it imports nothing.
 *
 * Each reply's `detail` is written where the error happens, with the names and values of that case; `when`
 * is the template it follows.
 */

export interface ErrorCodeSpec {
  readonly status: number;
  /** When the code is answered (the docs' table); `<name>` marks what the detail fills in. */
  readonly when: string;
}

export const ERROR_CODES = {
  INVALID_JSON: { status: 400, when: "the body is not JSON; `detail` names line, column and position" },
  INVALID_BODY: {
    status: 400,
    when: "the body has the wrong shape (types, missing or unknown fields, bad names)",
  },
  INVALID_PIPELINE: {
    status: 400,
    when: "the definition does not plan: ASP's messages, one problem per issue, with the JSON path",
  },
  INVALID_CONNECTION: {
    status: 400,
    when: "a connection body is invalid (unknown type, missing `config.uri`, …)",
  },
  PATH_NOT_ALLOWED: {
    status: 400,
    when: "a File connection's `path` is outside the server's allowed directories (`--allow-dir`), or inside its data directory",
  },
  MISSING_VARIABLE: {
    status: 400,
    when: "start: a `{{VAR}}` is not set or not allowed (see docs/security.md); names the variable, the connection/processor and the path; state unchanged",
  },
  MODIFY_NEEDS_RESET: {
    status: 400,
    when: "modify would break the checkpoint (ASP's text, e.g. `resumeFromCheckpoint must be false to modify a stream processor's $source stage`)",
  },
  INVALID_QUERY: { status: 400, when: "a bad query parameter (`scale=0`)" },
  INVALID_PATH: { status: 400, when: "the URL is not validly encoded" },
  BAD_REQUEST: {
    status: 400,
    when: "the request itself is malformed (e.g. a `Content-Length` that does not match the body)",
  },
  UNAUTHORIZED: { status: 401, when: "no `Authorization: Bearer <token>` header" },
  INVALID_TOKEN: { status: 401, when: "the bearer token is not the server's" },
  NOT_FOUND: { status: 404, when: "no such endpoint" },
  WORKSPACE_NOT_FOUND: { status: 404, when: "no workspace `<ws>`" },
  CONNECTION_NOT_FOUND: { status: 404, when: "no connection `<name>` in the workspace" },
  PROCESSOR_NOT_FOUND: { status: 404, when: "no processor `<name>` in the workspace" },
  METHOD_NOT_ALLOWED: {
    status: 405,
    when: "wrong method (the `Allow` header lists the right ones)",
  },
  WORKSPACE_ALREADY_EXISTS: { status: 409, when: "a workspace with that name exists" },
  CONNECTION_ALREADY_EXISTS: { status: 409, when: "a connection with that name exists in the workspace" },
  PROCESSOR_ALREADY_EXISTS: { status: 409, when: "a processor with that name exists in the workspace" },
  PROCESSOR_ALREADY_STARTED: {
    status: 409,
    when: "start on a STARTED processor: `stream processor name already exists: <name> — …`",
  },
  PROCESSOR_NOT_STARTED: {
    status: 409,
    when: "stop on a processor that is not STARTED: `stream processor does not exist: <name> — …`",
  },
  PROCESSOR_RUNNING: { status: 409, when: "modify on a STARTED processor" },
  CONNECTION_IN_USE: { status: 409, when: "delete a connection that a started processor uses" },
  CONNECTION_BUILT_IN: { status: 409, when: "delete or replace a built-in connection" },
  WORKSPACE_IN_USE: {
    status: 409,
    when: "delete a workspace with started processors, or `default`",
  },
  SHUTTING_DOWN: { status: 409, when: "the server is stopping" },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    when: "body over the limit (`--max-body-bytes`); the connection is closed",
  },
  HOST_NOT_ALLOWED: {
    status: 421,
    when: "the `Host` header names neither the address the server is bound to nor a name given with `--allowed-host` (DNS rebinding protection)",
  },
  PROCESSOR_START_FAILED: {
    status: 422,
    when: "the processor could not start (e.g. authentication refused); it is FAILED with `errorMsg`",
  },
  INTERNAL_ERROR: { status: 500, when: "a server bug; the stack is in the server log" },
  NOT_READY: { status: 503, when: "`/ready`: the state store cannot be reached" },
  DISPATCH_NOT_CONFIGURED: {
    status: 404,
    when: "a `/dispatch/…` route on a server started without `FC_MONGO_URL` (docs/event-dispatch.md)",
  },
  JOB_NOT_FOUND: { status: 404, when: "no dispatch job `<id>`" },
  JOB_STATE_CONFLICT: { status: 409, when: "retry or cancel of a dispatch job in a state that forbids it" },
  INVALID_JOB_QUERY: { status: 400, when: "a bad `status`/`limit` filter when listing dispatch jobs" },
} as const satisfies Readonly<Record<string, ErrorCodeSpec>>;

export type ErrorCode = keyof typeof ERROR_CODES;

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

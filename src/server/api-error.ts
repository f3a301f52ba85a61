/**
 * Atlas-style error bodies: `{error: <status>, reason, errorCode, detail, problems?}`. `detail` says what
 * went wrong and what to do next; `problems` lists every problem of a bad body with its JSON path.
 */
import { ControlError, type ControlErrorKind, type Problem } from "../control/errors.ts";

const REASONS: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

const STATUS_OF: Readonly<Record<ControlErrorKind, number>> = {
  invalid: 400,
  "not-found": 404,
  conflict: 409,
  "start-failed": 422,
};

export interface ErrorBody {
  readonly error: number;
  readonly reason: string;
  readonly errorCode: string;
  readonly detail: string;
  readonly problems?: readonly Problem[];
}

export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  readonly code: string;
  readonly problems: readonly Problem[] | undefined;
  /** Extra response headers (e.g. `Allow`, `WWW-Authenticate`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: string,
    detail: string,
    options: { problems?: readonly Problem[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.status = status;
    this.code = code;
    this.problems = options.problems;
    this.headers = options.headers ?? {};
  }

  body(): ErrorBody {
    return {
      error: this.status,
      reason: REASONS[this.status] ?? "Error",
      errorCode: this.code,
      detail: this.message,
      ...(this.problems && this.problems.length > 0 ? { problems: this.problems } : {}),
    };
  }
}

/** The API error for anything a handler threw: control errors keep their kind and code; the rest is a 500. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ControlError) {
    return new ApiError(STATUS_OF[error.kind], error.code, error.message, { problems: error.problems });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ApiError(
    500,
    "INTERNAL_ERROR",
    `the server failed to handle the request: ${message}; check the server log, and report it if it persists`,
  );
}

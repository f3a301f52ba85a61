/**
 * Atlas-style error bodies: `{error: <status>, reason, errorCode, detail, problems?}`. `detail` says what
 * went wrong and what to do next; `problems` lists every problem of a bad body with its JSON path.
 */
import { ControlError, type Problem } from "../control/errors.ts";
import {
  errorMessage,
  REASON_PHRASES,
  statusOf,
  type ErrorCode,
  type MessageParams,
} from "../errors/codes.ts";

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
  readonly code: ErrorCode;
  readonly problems: readonly Problem[] | undefined;
  /** Extra response headers (e.g. `Allow`, `WWW-Authenticate`). */
  readonly headers: Readonly<Record<string, string>>;

  /** Code `code`'s error, its message template filled with `params`. */
  static of<C extends ErrorCode>(
    code: C,
    params: MessageParams<C>,
    options: { problems?: readonly Problem[]; headers?: Record<string, string> } = {},
  ): ApiError {
    return new ApiError(code, errorMessage(code, params), options);
  }

  constructor(
    code: ErrorCode,
    detail: string,
    options: { problems?: readonly Problem[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.status = statusOf(code);
    this.code = code;
    this.problems = options.problems;
    this.headers = options.headers ?? {};
  }

  body(): ErrorBody {
    return {
      error: this.status,
      reason: REASON_PHRASES[this.status] ?? "Error",
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
    return new ApiError(error.code, error.message, { problems: error.problems });
  }
  const message = error instanceof Error ? error.message : String(error);
  return ApiError.of("INTERNAL_ERROR", { error: message });
}

/**
 * Errors of the Atlas routes in Atlas's shape `{detail, error, errorCode, parameters, reason}`: Eddy's codes
 * become the Atlas codes for the same situation where Atlas has one; the rest keep Eddy's code.
 */
import { toApiError } from "../api-error.ts";
import type { Doc } from "../../mql/index.ts";

const ATLAS_CODES: Readonly<Record<string, string>> = {
  WORKSPACE_NOT_FOUND: "STREAM_TENANT_NOT_FOUND_FOR_NAME",
  WORKSPACE_ALREADY_EXISTS: "STREAM_TENANT_NAME_ALREADY_EXISTS",
  WORKSPACE_IN_USE: "STREAM_TENANT_HAS_STARTED_PROCESSORS",
  PROCESSOR_NOT_FOUND: "STREAM_PROCESSOR_NOT_FOUND",
  PROCESSOR_ALREADY_EXISTS: "STREAM_PROCESSOR_ALREADY_EXISTS",
  PROCESSOR_ALREADY_STARTED: "STREAM_PROCESSOR_ALREADY_STARTED",
  PROCESSOR_NOT_STARTED: "STREAM_PROCESSOR_NOT_STARTED",
  PROCESSOR_RUNNING: "STREAM_PROCESSOR_IS_RUNNING",
  PROCESSOR_START_FAILED: "STREAM_PROCESSOR_GENERIC_ERROR",
  INVALID_PIPELINE: "STREAM_PROCESSOR_INVALID_PIPELINE",
  CONNECTION_NOT_FOUND: "STREAM_CONNECTION_NOT_FOUND",
  CONNECTION_ALREADY_EXISTS: "STREAM_CONNECTION_ALREADY_EXISTS",
  CONNECTION_IN_USE: "STREAM_CONNECTION_HAS_STREAM_PROCESSORS",
  INVALID_BODY: "INVALID_ATTRIBUTE",
  INVALID_CONNECTION: "INVALID_ATTRIBUTE",
  INVALID_JSON: "MALFORMED_JSON",
};

export interface AtlasError {
  readonly status: number;
  readonly body: Doc;
}

export function atlasError(error: unknown): AtlasError {
  const api = toApiError(error);
  const body = api.body();
  return {
    status: api.status,
    body: {
      detail: body.detail,
      error: body.error,
      errorCode: ATLAS_CODES[api.code] ?? api.code,
      parameters: [],
      reason: body.reason,
      ...(body.problems ? { problems: body.problems } : {}),
    },
  };
}

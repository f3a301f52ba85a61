/** The bodies of processor start and modify requests, shared by Eddy's routes and the Atlas Admin API's. */
import type { ModifyRequest } from "../control/processor-manager.ts";
import type { StartOptions } from "../control/processor-definition.ts";
import type { Doc } from "../mql/index.ts";
import { ApiError } from "./api-error.ts";
import { checkBody, MODIFY_BODY, START_BODY } from "./request-schema.ts";

/** `{resumeFromCheckpoint?, startAtOperationTime?, startAfter?}`; no body at all starts with the defaults. */
export function startRequest(body: unknown): StartOptions {
  const options = checkBody(
    body,
    START_BODY,
    "start options {resumeFromCheckpoint?, startAtOperationTime?, startAfter?}",
    true,
  );
  return {
    resumeFromCheckpoint: options.resumeFromCheckpoint as boolean | undefined,
    startAtOperationTime: options.startAtOperationTime,
    startAfter: options.startAfter as Doc | undefined,
  };
}

/** `{name?, pipeline?, options?, resumeFromCheckpoint?}`; `resumeFromCheckpoint` may also sit in `options` (Atlas). */
export function modifyRequest(body: unknown): ModifyRequest {
  const change = checkBody(
    body,
    MODIFY_BODY,
    "a modification {name?, pipeline?, options?, resumeFromCheckpoint?}",
  );
  const { resumeFromCheckpoint: inOptions, ...options } = (change.options as Doc | undefined) ?? {};
  if (inOptions !== undefined && typeof inOptions !== "boolean") {
    throw ApiError.of(
      "INVALID_BODY",
      { problem: "options.resumeFromCheckpoint must be a boolean" },
      {
        problems: [
          {
            path: "options.resumeFromCheckpoint",
            message: "must be a boolean",
            expected: "boolean",
            got: typeof inOptions,
          },
        ],
      },
    );
  }
  return {
    ...(change.name !== undefined ? { name: change.name as string } : {}),
    ...(change.pipeline !== undefined ? { pipeline: change.pipeline as unknown[] } : {}),
    ...(change.options !== undefined ? { options } : {}),
    resumeFromCheckpoint:
      (change.resumeFromCheckpoint as boolean | undefined) ?? (inOptions as boolean | undefined),
  };
}

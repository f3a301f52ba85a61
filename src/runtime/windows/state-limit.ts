import { StateLimitExceededError } from "./errors.ts";

/**
 * Throws {@link StateLimitExceededError} when `bytes` of window state exceed `limit` (`maxStateBytes`;
 * undefined = no limit). Cheap enough to call after every batch with `WindowRunner.stateSize()`.
 */
export function checkStateLimit(bytes: number, limit: number | undefined): void {
  if (limit !== undefined && bytes > limit) throw new StateLimitExceededError(bytes, limit);
}

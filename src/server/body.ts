/**
 * Request bodies: the 413 for one over the limit (Fastify reads bodies and enforces the limit — from
 * Content-Length before reading anything, else as soon as a chunked body passes it), and parsing as relaxed
 * Extended JSON with the position of a syntax error.
 */
import { EJSON } from "bson";
import { ApiError } from "./api-error.ts";
import { findJsonSyntaxError } from "./json-syntax.ts";

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** The 413 for a body over `limit` (`declared`: its Content-Length, when the client sent one). */
export function tooLarge(limit: number, declared: number | undefined): ApiError {
  return ApiError.of("PAYLOAD_TOO_LARGE", {
    size: declared !== undefined ? `${declared} bytes` : "size not declared",
    limit,
  });
}

/** Parses a JSON body (relaxed Extended JSON: `{"$date": …}` etc. become BSON values). Empty → undefined. */
export function parseJsonBody(bytes: Buffer): unknown {
  const text = bytes.toString("utf8");
  if (text.trim() === "") return undefined;
  const syntax = findJsonSyntaxError(text);
  if (syntax) {
    const where = `line ${syntax.line}, column ${syntax.column} (position ${syntax.offset})`;
    throw ApiError.of(
      "INVALID_JSON",
      { format: "JSON", problem: `${syntax.message} at ${where}` },
      { problems: [{ path: "", message: `${syntax.message} at ${where}`, expected: "a JSON document" }] },
    );
  }
  try {
    return EJSON.parse(text, { relaxed: true });
  } catch (error) {
    const message = (error as Error).message;
    throw ApiError.of(
      "INVALID_JSON",
      { format: "Extended JSON", problem: message },
      {
        problems: [{ path: "", message, expected: "valid Extended JSON values" }],
      },
    );
  }
}

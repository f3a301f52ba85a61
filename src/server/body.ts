/**
 * Reading request bodies: at most `limit` bytes (a larger body is refused with 413 as soon as that is
 * known — from Content-Length before reading anything, else when the stream passes the limit), then
 * relaxed Extended JSON with the position of a syntax error.
 */
import type { IncomingMessage } from "node:http";
import { EJSON } from "bson";
import { ApiError } from "./api-error.ts";
import { findJsonSyntaxError } from "./json-syntax.ts";

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit, declared);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit, undefined);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function tooLarge(limit: number, declared: number | undefined): ApiError {
  return new ApiError("PAYLOAD_TOO_LARGE",
    `the request body ${declared !== undefined ? `(${declared} bytes) ` : ""}is larger than the limit of ${limit} bytes; ` +
      "send a smaller definition, or start the server with a larger --max-body-bytes",
  );
}

/** Parses a JSON body (relaxed Extended JSON: `{"$date": …}` etc. become BSON values). Empty → undefined. */
export function parseJsonBody(bytes: Buffer): unknown {
  const text = bytes.toString("utf8");
  if (text.trim() === "") return undefined;
  const syntax = findJsonSyntaxError(text);
  if (syntax) {
    const where = `line ${syntax.line}, column ${syntax.column} (position ${syntax.offset})`;
    throw new ApiError("INVALID_JSON",
      `the request body is not valid JSON: ${syntax.message} at ${where}; fix the JSON and send it again`,
      { problems: [{ path: "", message: `${syntax.message} at ${where}`, expected: "a JSON document" }] },
    );
  }
  try {
    return EJSON.parse(text, { relaxed: true });
  } catch (error) {
    const message = (error as Error).message;
    throw new ApiError("INVALID_JSON", `the request body is not valid Extended JSON: ${message}`, {
      problems: [{ path: "", message, expected: "valid Extended JSON values" }],
    });
  }
}

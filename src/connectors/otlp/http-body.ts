/**
 * Reading an export request body: at most `maxBodyBytes` as sent (413 from Content-Length before reading,
 * else as soon as the stream passes it), then gunzip bounded by `maxDecompressedBytes` (a gzip bomb stops
 * at the bound with 413 instead of filling memory).
 */
import type { IncomingMessage } from "node:http";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { Rejection } from "./rejection.ts";

const gunzipAsync = promisify(gunzip);

export async function readRequestBody(
  req: IncomingMessage,
  limits: { maxBodyBytes: number; maxDecompressedBytes: number },
): Promise<Buffer> {
  const encoding = (req.headers["content-encoding"] ?? "identity").trim().toLowerCase();
  if (encoding !== "gzip" && encoding !== "identity" && encoding !== "")
    throw new Rejection(
      415,
      `Content-Encoding '${encoding}' is not supported; send gzip or an uncompressed body`,
    );
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limits.maxBodyBytes) throw tooLarge(limits.maxBodyBytes, "");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limits.maxBodyBytes) throw tooLarge(limits.maxBodyBytes, "");
    chunks.push(chunk);
  }
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  if (encoding !== "gzip") return body;
  try {
    return await gunzipAsync(body, { maxOutputLength: limits.maxDecompressedBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE")
      throw tooLarge(limits.maxDecompressedBytes, "decompressed ");
    throw new Rejection(400, `the gzip body could not be decompressed (${(error as Error).message})`);
  }
}

function tooLarge(limit: number, what: string): Rejection {
  return new Rejection(
    413,
    `the ${what}request body is larger than the limit of ${limit} bytes; send smaller batches ` +
      "(the exporter's max export batch size) or raise the connection's maxBodyBytes / maxDecompressedBytes",
  );
}

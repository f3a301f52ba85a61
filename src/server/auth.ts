/**
 * Bearer-token authentication: required on every mutating request, and on reads that do not come from
 * loopback. Tokens are compared in constant time (both sides hashed to the same length first).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { ApiError } from "./api-error.ts";

const READ_METHODS = new Set(["GET", "HEAD"]);

export function requireToken(req: IncomingMessage, token: string): void {
  if (READ_METHODS.has(req.method ?? "") && isLoopback(req.socket.remoteAddress)) return;
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) {
    throw new ApiError("UNAUTHORIZED",
      "this request needs 'Authorization: Bearer <token>'; the token is the server's --token / EDDY_API_TOKEN, " +
        "or the one `sp serve` wrote to <data dir>/api-token",
      { headers: { "WWW-Authenticate": 'Bearer realm="eddy"' } },
    );
  }
  if (!sameToken(match[1], token)) {
    throw new ApiError("INVALID_TOKEN",
      "the bearer token is not valid for this server; use the token in <data dir>/api-token or the server's --token",
      { headers: { "WWW-Authenticate": 'Bearer realm="eddy", error="invalid_token"' } },
    );
  }
}

export function sameToken(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

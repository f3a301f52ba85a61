/**
 * Bearer-token authentication: required on every request except the service endpoints a load balancer or
 * orchestrator probes (`/health`, `/ready`, and `/metrics` when the server is started with
 * `--public-metrics`). Tokens are compared in constant time (both sides hashed to the same length first).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { ApiError } from "./api-error.ts";

const ALWAYS_PUBLIC = ["/health", "/ready"];

/** The paths that answer without a token. */
export function publicPaths(options: { publicMetrics: boolean }): ReadonlySet<string> {
  return new Set([...ALWAYS_PUBLIC, ...(options.publicMetrics ? ["/metrics"] : [])]);
}

export function requireToken(authorization: string | undefined, token: string): void {
  const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  if (!match) {
    throw ApiError.of("UNAUTHORIZED", {}, { headers: { "WWW-Authenticate": 'Bearer realm="eddy"' } });
  }
  if (!sameToken(match[1], token)) {
    throw ApiError.of(
      "INVALID_TOKEN",
      {},
      { headers: { "WWW-Authenticate": 'Bearer realm="eddy", error="invalid_token"' } },
    );
  }
}

export function sameToken(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Authentication of the Atlas Admin API routes: the API token as a bearer token (service-account style), or
 * HTTP Digest with any public key and the token as private key (what Atlas API-key clients send).
 */
import { ApiError } from "../api-error.ts";
import { requireToken } from "../auth.ts";
import type { DigestAuth } from "./digest-auth.ts";

export const ATLAS_PREFIX = "/api/atlas/";

export function requireAtlasAuth(
  authorization: string | undefined,
  method: string,
  uri: string,
  token: string,
  digest: DigestAuth,
): void {
  if (authorization && /^Bearer\s/i.test(authorization)) {
    requireToken(authorization, token);
    return;
  }
  const result =
    authorization && /^Digest\s/i.test(authorization)
      ? digest.check(authorization, method, uri, token)
      : undefined;
  if (result === "ok") return;
  // Eddy's own wording (it names the bearer token); the challenge tells Digest clients what to send.
  const headers = { "WWW-Authenticate": digest.challenge(result === "stale") };
  throw result === undefined
    ? ApiError.of("UNAUTHORIZED", {}, { headers })
    : ApiError.of("INVALID_TOKEN", {}, { headers });
}

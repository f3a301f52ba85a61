/**
 * HTTP Digest authentication (RFC 7616, MD5, qop=auth) the way Atlas API-key clients send it: any public key
 * as the user name, the server's API token as the private key. Nonces are stateless (a time stamp signed
 * with a per-server secret) and expire after five minutes, when the client is told `stale=true`.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const DIGEST_REALM = "MMS Public API";
const NONCE_TTL_MS = 5 * 60_000;

export type DigestCheck = "ok" | "stale" | "invalid";

export class DigestAuth {
  private readonly secret = randomBytes(32);

  /** The `WWW-Authenticate` value of a 401. */
  challenge(stale = false): string {
    return (
      `Digest realm="${DIGEST_REALM}", domain="", nonce="${this.nonce()}", algorithm=MD5, qop="auth", ` +
      `stale=${stale ? "true" : "false"}`
    );
  }

  /** Checks an `Authorization: Digest …` header for `method` and the request's `uri` against `password`. */
  check(header: string, method: string, uri: string, password: string): DigestCheck {
    const fields = parseDigest(header);
    const { username, realm, nonce, response, qop, nc, cnonce } = fields;
    if (username === undefined || nonce === undefined || response === undefined) return "invalid";
    if (realm !== DIGEST_REALM || fields.uri !== uri) return "invalid";
    if (fields.algorithm !== undefined && fields.algorithm.toUpperCase() !== "MD5") return "invalid";
    const age = this.nonceAge(nonce);
    if (age === undefined) return "invalid";
    const ha1 = md5(`${username}:${realm}:${password}`);
    const ha2 = md5(`${method}:${fields.uri}`);
    const expected =
      qop === undefined
        ? md5(`${ha1}:${nonce}:${ha2}`)
        : md5(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
    if (qop !== undefined && (qop !== "auth" || nc === undefined || cnonce === undefined)) return "invalid";
    const given = Buffer.from(response.toLowerCase());
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) return "invalid";
    return age > NONCE_TTL_MS ? "stale" : "ok";
  }

  private nonce(): string {
    const issued = Date.now().toString(16);
    return Buffer.from(`${issued}:${this.sign(issued)}`).toString("base64");
  }

  /** How old a nonce this server issued is; undefined for one it did not issue. */
  private nonceAge(nonce: string): number | undefined {
    const [issued, signature] = Buffer.from(nonce, "base64").toString("utf8").split(":");
    if (!issued || !signature || signature.length !== 64) return undefined;
    if (!timingSafeEqual(Buffer.from(signature), Buffer.from(this.sign(issued)))) return undefined;
    return Date.now() - parseInt(issued, 16);
  }

  private sign(text: string): string {
    return createHmac("sha256", this.secret).update(text).digest("hex");
  }
}

function md5(text: string): string {
  return createHash("md5").update(text).digest("hex");
}

/** `Digest a="b", c=d, …` as a map (quoted values unquoted). */
function parseDigest(header: string): Record<string, string | undefined> {
  const fields: Record<string, string> = {};
  const body = header.replace(/^Digest\s+/i, "");
  for (const match of body.matchAll(/([a-zA-Z]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    fields[match[1].toLowerCase()] = match[2] !== undefined ? match[2].replace(/\\(.)/g, "$1") : match[3];
  }
  return fields;
}

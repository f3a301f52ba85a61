/**
 * The server side of SCRAM-SHA-256 (RFC 5802/7677) as MongoDB drivers speak it in `saslStart` /
 * `saslContinue`: one user, whose password is the API token. The salted keys are derived once per server.
 */
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";

export const SCRAM_USER = "eddy";
export const SCRAM_MECHANISM = "SCRAM-SHA-256";
const ITERATIONS = 15_000;

export interface ScramCredentials {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

export async function scramCredentials(password: string): Promise<ScramCredentials> {
  const salt = randomBytes(16);
  const salted = await promisify(pbkdf2)(password.normalize("NFKC"), salt, ITERATIONS, 32, "sha256");
  const clientKey = hmac(salted, "Client Key");
  return {
    salt,
    iterations: ITERATIONS,
    storedKey: createHash("sha256").update(clientKey).digest(),
    serverKey: hmac(salted, "Server Key"),
  };
}

export class ScramError extends Error {
  override readonly name = "ScramError";
}

/** One authentication conversation: `start` answers the client-first message, `finish` the client-final. */
export class ScramConversation {
  private readonly credentials: ScramCredentials;
  private clientFirstBare = "";
  private serverFirst = "";
  private nonce = "";

  constructor(credentials: ScramCredentials) {
    this.credentials = credentials;
  }

  start(clientFirst: string): string {
    const match = /^[ny],[^,]*,(n=([^,]*),r=([^,]+)(?:,.*)?)$/.exec(clientFirst);
    if (!match) throw new ScramError("malformed SCRAM client-first message");
    const user = match[2].replace(/=2C/g, ",").replace(/=3D/g, "=");
    if (user !== SCRAM_USER) throw new ScramError(`unknown user '${user}'`);
    this.clientFirstBare = match[1];
    this.nonce = match[3] + randomBytes(24).toString("base64");
    this.serverFirst = `r=${this.nonce},s=${this.credentials.salt.toString("base64")},i=${this.credentials.iterations}`;
    return this.serverFirst;
  }

  /** Checks the client's proof; returns the server-final message (`v=<signature>`). */
  finish(clientFinal: string): string {
    const match = /^(c=[^,]*,r=([^,]+)(?:,.*)?),p=([^,]+)$/.exec(clientFinal);
    if (!match || !this.serverFirst) throw new ScramError("malformed SCRAM client-final message");
    if (match[2] !== this.nonce) throw new ScramError("the SCRAM nonce does not match");
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${match[1]}`;
    const proof = Buffer.from(match[3], "base64");
    const signature = hmac(this.credentials.storedKey, authMessage);
    if (proof.length !== signature.length) throw new ScramError("wrong password");
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i] ^ signature[i];
    const storedKey = createHash("sha256").update(clientKey).digest();
    if (!timingSafeEqual(storedKey, this.credentials.storedKey)) throw new ScramError("wrong password");
    return `v=${hmac(this.credentials.serverKey, authMessage).toString("base64")}`;
  }
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac("sha256", key).update(text).digest();
}

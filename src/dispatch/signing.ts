/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature` is
 * `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed with the secret's bytes
 * (a `whsec_` prefix followed by base64). The id stays the same on every retry of one message, so
 * receivers can deduplicate; the timestamp is the attempt's, in seconds.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

const SECRET_PREFIX = "whsec_";

export class WebhookSecretError extends Error {
  override readonly name = "WebhookSecretError";
}

/** The HMAC key of a `whsec_<base64>` secret (the prefix is optional). */
export function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = Buffer.from(encoded, "base64");
  if (key.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    throw new WebhookSecretError(
      "a webhook secret must be 'whsec_' followed by base64 (e.g. 24–64 random bytes)",
    );
  }
  return key;
}

export function sign(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac("sha256", key).update(`${id}.${timestampSeconds}.`).update(body).digest("base64");
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers for one attempt (no signature header without a key). */
export function webhookHeaders(
  key: Buffer | undefined,
  id: string,
  body: string,
  now: Date = new Date(),
): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  const headers: Record<string, string> = { "webhook-id": id, "webhook-timestamp": String(timestamp) };
  if (key) headers["webhook-signature"] = sign(key, id, timestamp, body);
  return headers;
}

/**
 * Checks a received webhook as a receiver would: one of the space-separated `v1,` signatures matches and
 * the timestamp is within `toleranceSeconds` of now (default 5 minutes, the spec's recommendation).
 */
export function verifyWebhook(
  secret: string,
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  options: { now?: Date; toleranceSeconds?: number } = {},
): boolean {
  const timestamp = Number(headers.timestamp);
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (!Number.isInteger(timestamp) || Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300))
    return false;
  const expected = Buffer.from(sign(secretKey(secret), headers.id, timestamp, body));
  return headers.signature.split(" ").some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

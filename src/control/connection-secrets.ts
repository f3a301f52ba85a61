/**
 * Keeps literal secrets in connection bodies out of API responses: passwords, secret-looking keys, auth
 * headers and the password in a URI are shown as `***`. Values with `{{VAR}}` placeholders are shown as written
 * (they are not secrets; their values are, and those are redacted by the Redactor everywhere).
 */
import { isPlainObject } from "../mql/bson-types.ts";
import { REDACTED } from "./redactor.ts";

const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|credential|private|authorization|cookie|^key$/i;
const PLACEHOLDER = /\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}/;
const URI_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^@/\s]+)(@)/i;

/**
 * A copy of `value` with literal secrets replaced by `***`; each literal secret found is passed to
 * `onSecret` (so the caller can redact it from logs too).
 */
export function hideConnectionSecrets<T>(value: T, onSecret: (secret: string) => void = () => {}): T {
  return hide(value, false, onSecret) as T;
}

function hide(value: unknown, secretKey: boolean, onSecret: (secret: string) => void): unknown {
  if (typeof value === "string") {
    if (secretKey) return hideWhole(value, onSecret);
    const uri = URI_PASSWORD.exec(value);
    if (uri && !PLACEHOLDER.test(uri[2])) {
      onSecret(safeDecode(uri[2]));
      return value.replace(URI_PASSWORD, `$1${REDACTED}$3`);
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => hide(item, secretKey, onSecret));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = hide(item, secretKey || SECRET_KEY.test(key), onSecret);
    }
    return out;
  }
  return value;
}

function hideWhole(value: string, onSecret: (secret: string) => void): string {
  // A value built from placeholders ("Bearer {{TOKEN}}") is shown as written; the resolved value is redacted.
  if (value === "" || PLACEHOLDER.test(value)) return value;
  onSecret(value);
  return REDACTED;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

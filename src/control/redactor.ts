/**
 * Keeps secret values out of every log line, API response, stats output and error message: each value that
 * came from a `{{VAR}}` is registered here and replaced by `***` wherever it would be shown.
 */
export const REDACTED = "***";

/** Values shorter than this are not redacted: replacing e.g. "1" everywhere would garble all output. */
const MIN_SECRET_LENGTH = 3;

export class Redactor {
  private readonly secrets = new Set<string>();
  private pattern: RegExp | undefined;

  add(secret: string): void {
    if (secret.length < MIN_SECRET_LENGTH || this.secrets.has(secret)) return;
    this.secrets.add(secret);
    // Longest first, so a secret containing another is replaced whole.
    const sorted = [...this.secrets].sort((a, b) => b.length - a.length);
    const variants = sorted.flatMap((s) => unique([s, encodeURIComponent(s)]));
    this.pattern = new RegExp(variants.map(escapeRegExp).join("|"), "g");
  }

  get size(): number {
    return this.secrets.size;
  }

  /** The text with every registered secret (and its URL-encoded form) replaced by `***`. */
  redact(text: string): string {
    return this.pattern ? text.replace(this.pattern, REDACTED) : text;
  }

  /** A deep copy of `value` with secrets redacted from every string (keys included). */
  redactDeep<T>(value: T): T {
    if (!this.pattern) return value;
    return this.copy(value) as T;
  }

  /** An Error-safe message: the error's message with secrets redacted. */
  redactError(error: unknown): string {
    return this.redact(error instanceof Error ? error.message : String(error));
  }

  private copy(value: unknown): unknown {
    if (typeof value === "string") return this.redact(value);
    if (Array.isArray(value)) return value.map((item) => this.copy(item));
    if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) out[this.redact(key)] = this.copy(item);
      return out;
    }
    return value;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** A Logger that redacts every registered secret from the message and the fields before writing. */
import type { Logger } from "../runtime/log.ts";
import type { Redactor } from "./redactor.ts";

export function redactingLogger(inner: Logger, redactor: Redactor): Logger {
  const clean = (fields?: Record<string, unknown>): Record<string, unknown> | undefined => {
    if (!fields) return undefined;
    const plain: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields))
      plain[key] = value instanceof Error ? value.message : value;
    return redactor.redactDeep(plain);
  };
  return {
    info: (msg, fields) => inner.info(redactor.redact(msg), clean(fields)),
    warn: (msg, fields) => inner.warn(redactor.redact(msg), clean(fields)),
    error: (msg, fields) => inner.error(redactor.redact(msg), clean(fields)),
  };
}

/** A connection's settings as connectors read them. */
import type { Doc } from "../mql/index.ts";
import type { ConnectionEntry } from "../pipeline/plan.ts";

/** The entry's `config` merged over its top-level settings (ASP API bodies keep them at the top). */
export function connectionSettings(entry: ConnectionEntry | undefined): Doc {
  return { ...entry, ...(entry?.config ?? {}) } as Doc;
}

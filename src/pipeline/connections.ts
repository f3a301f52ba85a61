import type { ConnectionCatalog, ConnectionEntry } from "./plan.ts";

/** Connections every workspace has: ASP's auto-created solar sample and its built-in test log sink. */
export const BUILTIN_CONNECTIONS: readonly ConnectionEntry[] = [
  { name: "sample_stream_solar", type: "Sample", config: {} },
  { name: "__testLog", type: "TestLog", config: {} },
];

/** A connection registry in memory, always holding the built-in connections. */
export class MapConnectionCatalog implements ConnectionCatalog {
  private readonly entries = new Map<string, ConnectionEntry>();

  constructor(entries: readonly ConnectionEntry[] = []) {
    for (const entry of BUILTIN_CONNECTIONS) this.entries.set(entry.name, entry);
    for (const entry of entries) this.entries.set(entry.name, entry);
  }

  get(name: string): ConnectionEntry | undefined {
    return this.entries.get(name);
  }

  names(): readonly string[] {
    return [...this.entries.keys()].sort();
  }
}

/** Builds a catalog (built-ins plus `entries`); later entries override earlier ones of the same name. */
export function catalogOf(...lists: ReadonlyArray<readonly ConnectionEntry[]>): MapConnectionCatalog {
  return new MapConnectionCatalog(lists.flat());
}

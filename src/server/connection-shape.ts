/** A connection as ASP shows it (mongosh's `sp.listConnections()`, the Atlas Admin API): settings at the top level. */
import type { ConnectionView } from "../control/connection-registry.ts";
import { isPlainObject, type Doc } from "../mql/index.ts";

/** Secrets stay redacted (the view already is); Eddy's own fields (workspace, builtIn, createdAt) are left out. */
export function connection(view: ConnectionView): Doc {
  const { workspace: _workspace, createdAt: _createdAt, builtIn: _builtIn, config, ...rest } = view;
  return { ...rest, ...(isPlainObject(config) ? (config as Doc) : {}) };
}

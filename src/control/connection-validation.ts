/**
 * Checks one connection body as the API receives it (`{name, type, config?}` or ASP's top-level fields) and
 * reports every problem with its JSON path inside the body. `{{VAR}}` placeholders are accepted wherever a
 * string is: they are resolved only when a processor starts.
 */
import { isPlainObject } from "../mql/bson-types.ts";
import type { Doc } from "../mql/index.ts";
import { PlanError } from "../pipeline/index.ts";
import type { ConnectionEntry } from "../pipeline/plan.ts";
import { parseConnections } from "../connectors/connections.ts";
import { CONNECTORS } from "../connectors/registry.ts";
import { typeName, type Problem } from "./errors.ts";

/** The parsed entry, or the problems (never both). */
export type ConnectionCheck =
  | { readonly entry: ConnectionEntry; readonly problems?: undefined }
  | { readonly entry?: undefined; readonly problems: readonly Problem[] };

export function checkConnection(body: unknown): ConnectionCheck {
  if (!isPlainObject(body)) {
    return {
      problems: [
        {
          path: "",
          message: "a connection is an object {name, type, config}",
          expected: "object",
          got: typeName(body),
        },
      ],
    };
  }
  let entry: ConnectionEntry;
  try {
    [entry] = parseConnections([body]);
  } catch (error) {
    if (!(error instanceof PlanError)) throw error;
    return {
      problems: error.errors.map((issue) =>
        problemAt(body, issue.path.replace(/^\[0\]\.?/, ""), issue.message),
      ),
    };
  }
  const problems = settingsProblems(entry, body);
  return problems.length > 0 ? { problems } : { entry };
}

/** Where a setting lives in the body: under `config` when the body has one, else at the top level. */
function settingPath(body: Doc, key: string): string {
  return isPlainObject(body.config) ? `config.${key}` : key;
}

/** The connection type's own checks (its spec in the registry). */
function settingsProblems(entry: ConnectionEntry, body: Doc): Problem[] {
  const check = CONNECTORS.find(entry.type)?.checkConnection;
  if (!check) return [];
  return check({
    name: entry.name,
    settings: { ...body, ...(entry.config ?? {}) },
    pathOf: (key) => settingPath(body, key),
  });
}

/** A problem at `path`, with `got` describing the value found there. */
function problemAt(body: Doc, path: string, message: string): Problem {
  const value = valueAt(body, path);
  return { path, message, got: typeof value === "string" ? JSON.stringify(value) : typeName(value) };
}

function valueAt(value: unknown, path: string): unknown {
  if (path === "") return value;
  let current = value;
  for (const part of path.split(".")) {
    if (!isPlainObject(current)) return undefined;
    current = current[part];
  }
  return current;
}

/** Connection definitions as people write them, read into entries whose type is one the registry knows. */
import { isPlainObject } from "../mql/bson-types.ts";
import type { Doc } from "../mql/index.ts";
import { IssueList, PlanError } from "../pipeline/errors.ts";
import type { ConnectionEntry } from "../pipeline/plan.ts";
import { CONNECTORS } from "./registry.ts";

/** Keys that identify an entry rather than configure it. */
const ENTRY_KEYS = new Set([
  "name",
  "connection_name",
  "connectionName",
  "type",
  "connectionType",
  "description",
]);

/**
 * Reads connection definitions in the workspace shape `{"connections": [{name, type, config}]}` (or a bare
 * array). Also accepted: settings at the top level of the entry (Atlas API / CLI bodies), under `options`
 * (the engine's local registry), `connection_name`/`connectionType` spellings, and lowercase or engine type
 * names (`atlas`, `kafka`, `sample_solar`, `https`). Every problem is reported with its path.
 */
export function parseConnections(value: unknown): ConnectionEntry[] {
  const issues = new IssueList();
  const list = isPlainObject(value) ? value.connections : value;
  const base = isPlainObject(value) ? "connections" : "";
  if (!Array.isArray(list)) {
    issues.add(base, 'expected {"connections": [{name, type, config}]} or an array of connections');
    throw new PlanError(issues.items);
  }
  const entries: ConnectionEntry[] = [];
  const seen = new Set<string>();
  list.forEach((item, i) => {
    const path = `${base}[${i}]`;
    const entry = parseEntry(item, path, issues);
    if (!entry) return;
    if (seen.has(entry.name)) issues.add(`${path}.name`, `duplicate connection name '${entry.name}'`);
    seen.add(entry.name);
    entries.push(entry);
  });
  issues.throwIfAny();
  return entries;
}

function parseEntry(item: unknown, path: string, issues: IssueList): ConnectionEntry | undefined {
  if (!isPlainObject(item)) {
    issues.add(path, "a connection must be an object {name, type, config}");
    return undefined;
  }
  const name = item.name ?? item.connection_name ?? item.connectionName;
  const rawType = item.type ?? item.connectionType;
  if (typeof name !== "string" || name === "") {
    issues.add(`${path}.name`, "a connection needs a non-empty string 'name'");
    return undefined;
  }
  if (!/^[A-Za-z0-9._*-]+$/.test(name)) {
    issues.add(`${path}.name`, `invalid connection name '${name}': use letters, digits and . - * _`);
    return undefined;
  }
  if (typeof rawType !== "string") {
    issues.add(`${path}.type`, "a connection needs a string 'type' (Cluster, Kafka, Sample, Https, File…)");
    return undefined;
  }
  const spec = CONNECTORS.find(rawType);
  if (!spec) {
    const known = CONNECTORS.specs.map((s) => s.type).join(", ");
    issues.add(`${path}.type`, `Unsupported connection type '${rawType}'; expected one of ${known}`);
    return undefined;
  }
  return { name, type: spec.type, config: configOf(item) };
}

/** `config` or `options` when that is where the settings are, else the entry's own non-identifying keys. */
function configOf(item: Doc): Doc {
  const rest = Object.keys(item).filter((k) => !ENTRY_KEYS.has(k));
  if (rest.length === 1 && (rest[0] === "config" || rest[0] === "options") && isPlainObject(item[rest[0]])) {
    return { ...(item[rest[0]] as Doc) };
  }
  const config: Doc = {};
  for (const key of rest) config[key] = item[key];
  return config;
}

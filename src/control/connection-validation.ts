/**
 * Checks one connection body as the API receives it (`{name, type, config?}` or ASP's top-level fields) and
 * reports every problem with its JSON path inside the body. `{{VAR}}` placeholders are accepted wherever a
 * string is: they are resolved only when a processor starts.
 */
import { isPlainObject } from "../mql/bson-types.ts";
import type { Doc } from "../mql/index.ts";
import { PlanError, parseConnections } from "../pipeline/index.ts";
import type { ConnectionEntry } from "../pipeline/plan.ts";
import { kafkaClientOptions } from "../connectors/kafka/connection.ts";
import { SAMPLE_DATASETS } from "../connectors/sample/source.ts";
import { readOtlpConfig } from "../connectors/otlp/config.ts";
import { typeName, type Problem } from "./errors.ts";

const PLACEHOLDER = /\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}/;

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

function settingsProblems(entry: ConnectionEntry, body: Doc): Problem[] {
  const settings: Doc = { ...body, ...(entry.config ?? {}) };
  const problems: Problem[] = [];
  const requireString = (key: string, message: string, pattern?: RegExp, patternText?: string): void => {
    const value = settings[key];
    const path = settingPath(body, key);
    if (typeof value !== "string" || value.trim() === "") {
      problems.push({ path, message, expected: "non-empty string", got: typeName(value) });
    } else if (pattern && !PLACEHOLDER.test(value) && !pattern.test(value)) {
      problems.push({ path, message, expected: patternText, got: JSON.stringify(value) });
    }
  };
  switch (entry.type) {
    case "Cluster":
      requireString(
        "uri",
        'Eddy connects to MongoDB with a connection string: set config.uri (e.g. "{{MONGODB_URI}}")',
        /^mongodb(\+srv)?:\/\//,
        "a mongodb:// or mongodb+srv:// URI",
      );
      break;
    case "Kafka":
      requireString(
        "bootstrapServers",
        'a Kafka connection needs bootstrapServers, a comma-separated "host:port" list',
      );
      if (problems.length === 0) {
        try {
          kafkaClientOptions(settings, "eddy-validate");
        } catch (error) {
          const key = /mechanism|username|password|authentication/.test((error as Error).message)
            ? "authentication"
            : "security";
          problems.push({ path: settingPath(body, key), message: (error as Error).message });
        }
      }
      break;
    case "Https":
      requireString(
        "url",
        "an Https connection needs url, the base URL of the API",
        /^https?:\/\//,
        "an http:// or https:// URL",
      );
      if (settings.headers !== undefined) {
        if (!isPlainObject(settings.headers)) {
          problems.push({
            path: settingPath(body, "headers"),
            message: "headers must be an object of header name → string value",
            expected: "object",
            got: typeName(settings.headers),
          });
        } else {
          for (const [name, value] of Object.entries(settings.headers)) {
            if (typeof value !== "string") {
              problems.push({
                path: `${settingPath(body, "headers")}.${name}`,
                message: "a header value must be a string",
                expected: "string",
                got: typeName(value),
              });
            }
          }
        }
      }
      break;
    case "File":
      requireString("path", 'a File connection needs path, a JSON Lines file (or "-" for stdin)');
      break;
    case "Sample":
      sampleProblems(entry.name, settings, body, problems);
      break;
    case "OTLP":
      for (const problem of readOtlpConfig(entry.name, entry.config).problems)
        problems.push(problemAt(body, settingPath(body, problem.path), problem.message));
      break;
    default:
      break;
  }
  return problems;
}

function sampleProblems(name: string, settings: Doc, body: Doc, problems: Problem[]): void {
  const dataset = settings.dataset ?? name;
  if (!(SAMPLE_DATASETS as readonly unknown[]).includes(dataset)) {
    problems.push({
      path: settingPath(body, "dataset"),
      message: `a Sample connection generates one of the sample datasets (${SAMPLE_DATASETS.join(", ")}): name it so, or set config.dataset`,
      expected: SAMPLE_DATASETS.map((d) => JSON.stringify(d)).join(" or "),
      got: settings.dataset === undefined ? "missing" : JSON.stringify(settings.dataset),
    });
  }
  const rate = settings.rate;
  if (rate !== undefined && rate !== "unlimited" && !(typeof rate === "number" && rate > 0)) {
    problems.push({
      path: settingPath(body, "rate"),
      message: 'rate is documents per second, or "unlimited"',
      expected: 'positive number or "unlimited"',
      got: typeName(rate),
    });
  }
  for (const key of ["count", "seed"]) {
    const value = settings[key];
    if (value !== undefined && !(typeof value === "number" && Number.isInteger(value) && value >= 0)) {
      problems.push({
        path: settingPath(body, key),
        message: `${key} must be a non-negative integer`,
        expected: "non-negative integer",
        got: typeName(value),
      });
    }
  }
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

/**
 * `$https` (docs/asp-semantics.md §2.5): one HTTP request per document, up to `concurrency` in flight, results kept in
 * input order. ASP's error rules: 400/404/410/413/414/431 follow `onError` (dlq by default, ignore, fail);
 * any other non-2xx fails the processor. Transient failures (network errors, timeouts, 429, 502–504) are
 * retried with exponential back-off first.
 */
import type { Doc, Evaluator, Vars } from "../../mql/index.ts";
import type { ConnectorStagePlan, HttpsRequestOptions } from "../../pipeline/plan.ts";
import { deadLetterDocument } from "../../runtime/context.ts";
import { operatorFailureReason } from "../../runtime/dlq.ts";
import type { RunContext, StageRunner } from "../../runtime/index.ts";
import type { StatsCollector } from "../../runtime/stats.ts";
import type { Item } from "../../runtime/types.ts";
import { stringifyExtendedJson } from "../../codec/ejson.ts";
import { compileAddFields } from "../../mql/stages/add-fields.ts";
import { ConnectorError } from "../../runtime/errors.ts";

export type HttpsStagePlan = Extract<ConnectorStagePlan, { kind: "https" }>;

export interface HttpsConnection {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Terminal `$https`: attempts per document before it is dead-lettered (connection `maxRetries`, default 3). */
  readonly maxRetries?: number;
  /** Terminal `$https`: wait before the second attempt, doubling (connection `retryDelayMs`, default 200). */
  readonly retryDelayMs?: number;
}

export interface HttpsOptions {
  readonly concurrency?: number;
  readonly retries?: number;
  readonly backoffMs?: number;
  /** Sends one request; default the global `fetch` (`sp test` answers from its stubs instead). */
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

/** Statuses ASP hands to `onError`; every other non-2xx fails the processor. */
export const ON_ERROR_STATUSES = new Set([400, 404, 410, 413, 414, 431]);
const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);
const RESPONSE_VAR = "httpsResponse";

/**
 * Fails the processor (not one document): `onError: "fail"`, unlisted statuses, retries exhausted.
 * Retryable (the supervisor restarts from the checkpoint) when the endpoint may recover: 5xx, 408, 429,
 * network errors and timeouts; not for other 4xx or `onError: "fail"`, where a replay fails the same way.
 */
export class HttpsProcessorError extends ConnectorError {
  override readonly name = "HttpsProcessorError";

  constructor(message: string, retryable: boolean) {
    super(message, { retryable });
  }
}

/** Statuses after which the same request may succeed later. */
function isRecoverableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

type Outcome =
  | { readonly kind: "ok"; readonly doc: Doc }
  | { readonly kind: "dlq"; readonly message: string }
  | { readonly kind: "pass" };

class DocumentRequestError extends Error {}

export function createHttpsStage(
  stage: HttpsStagePlan,
  connection: HttpsConnection,
  ctx: RunContext,
  stats: StatsCollector,
  options: HttpsOptions = {},
): StageRunner {
  const op = stats.operator(stage.operatorName);
  const call = httpsCaller(stage, connection, options);
  const concurrency = options.concurrency ?? 8;
  return {
    stats: op,
    async process(items) {
      const outcomes = await mapInOrder(items, concurrency, (item) => call(item.doc, item.vars));
      const out: Item[] = [];
      outcomes.forEach((outcome, i) => {
        if (outcome.kind === "ok") out.push({ ...items[i], doc: outcome.doc });
        else if (outcome.kind === "pass") out.push(items[i]);
        else deadLetterDocument(ctx, op, items[i].doc, operatorFailureReason(op.name, outcome.message));
      });
      return out;
    },
  };
}

function httpsCaller(
  stage: HttpsStagePlan,
  connection: HttpsConnection,
  options: HttpsOptions,
): (doc: Doc, vars: Vars) => Promise<Outcome> {
  const { method, onError, parseJsonStrings } = stage.options;
  const timeoutMs = stage.options.requestTimeoutSec * 1000;
  const setResult = compileAddFields(
    { [stage.options.as ?? ""]: `$$${RESPONSE_VAR}` },
    {
      path: stage.path,
      variables: [RESPONSE_VAR],
    },
  );
  const request = requestBuilder(stage, connection);
  const retries = options.retries ?? 3;
  const backoffMs = options.backoffMs ?? 200;
  const send = options.fetch ?? fetch;

  return async (doc, vars) => {
    let url: string;
    let init: RequestInit;
    try {
      ({ url, init } = request(doc, vars));
    } catch (error) {
      return { kind: "dlq", message: (error as Error).message };
    }
    const started = performance.now();
    const response = await fetchWithRetries(send, url, init, timeoutMs, retries, backoffMs);
    const responseTimeMs = Math.round(performance.now() - started);
    const meta = { url, method, httpStatusCode: response.status, responseTimeMs };
    if (!response.ok) {
      const message = `Request failed with status code ${response.status}: ${method} ${url}`;
      if (!ON_ERROR_STATUSES.has(response.status) || onError === "fail")
        throw new HttpsProcessorError(message, isRecoverableStatus(response.status));
      return onError === "ignore" ? { kind: "pass" } : { kind: "dlq", message };
    }
    let body: unknown;
    try {
      body = await readBody(response, parseJsonStrings);
    } catch (error) {
      const message = (error as Error).message;
      if (onError === "fail") throw new HttpsProcessorError(message, false);
      return onError === "ignore" ? { kind: "pass" } : { kind: "dlq", message };
    }
    const withMeta = {
      ...doc,
      _stream_meta: { ...((doc._stream_meta as Doc | undefined) ?? {}), https: meta },
    };
    return { kind: "ok", doc: body === undefined ? withMeta : setResult(withMeta, { [RESPONSE_VAR]: body }) };
  };
}

/**
 * Builds the request of one document: URL (base + `path` + `parameters`), the connection's and the
 * stage's `headers`, and for POST/PUT/PATCH the `payload` (or the document) as relaxed Extended JSON.
 * Throws for a document whose path or headers do not evaluate to strings.
 */
export function requestBuilder(
  stage: {
    readonly options: HttpsRequestOptions;
    readonly evaluators?: Readonly<Record<string, Evaluator>>;
    readonly payload?: (doc: Doc, vars?: Vars) => Doc | undefined;
  },
  connection: HttpsConnection,
): (doc: Doc, vars: Vars) => { url: string; init: RequestInit } {
  const evaluators = stage.evaluators ?? {};
  const { method } = stage.options;
  const prefixed = (prefix: string) =>
    Object.entries(evaluators)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, evaluate]) => [key.slice(prefix.length), evaluate] as const);
  const parameters = prefixed("parameters.");
  const headers = prefixed("headers.");
  return (doc, vars) => {
    let url = joinUrl(connection.url, evaluators.path ? evaluators.path(doc, vars) : undefined);
    const query = new URLSearchParams();
    for (const [name, evaluate] of parameters) {
      const value = evaluate(doc, vars);
      if (value !== undefined && value !== null) query.append(name, String(value));
    }
    if ([...query].length > 0) url += (url.includes("?") ? "&" : "?") + query.toString();
    const requestHeaders: Record<string, string> = { ...(connection.headers ?? {}) };
    for (const [name, evaluate] of headers) {
      const value = evaluate(doc, vars);
      if (typeof value !== "string")
        throw new DocumentRequestError(`header '${name}' must evaluate to a string`);
      requestHeaders[name] = value;
    }
    const init: RequestInit = { method, headers: requestHeaders };
    if (BODY_METHODS.has(method)) {
      const body = stage.payload ? stage.payload(doc, vars) : doc;
      init.body = stringifyExtendedJson(body ?? {});
      requestHeaders["content-type"] ??= "application/json";
    }
    return { url, init };
  };
}

async function fetchWithRetries(
  send: (url: string, init: RequestInit) => Promise<Response>,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  retries: number,
  backoffMs: number,
): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    let failure: string;
    try {
      const response = await send(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
      if (!TRANSIENT_STATUSES.has(response.status) || attempt >= retries) return response;
      await response.body?.cancel();
      failure = `status ${response.status}`;
    } catch (error) {
      failure =
        (error as Error).name === "TimeoutError"
          ? `timed out after ${timeoutMs} ms`
          : (error as Error).message;
      if (attempt >= retries) {
        throw new HttpsProcessorError(
          `$https request ${init.method} ${url} failed after ${attempt + 1} attempts: ${failure}`,
          true,
        );
      }
    }
    await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** attempt));
  }
}

/** JSON (also when no Content-Type is given), text as a string; an empty body sets nothing. */
async function readBody(response: Response, parseJsonStrings: boolean): Promise<unknown> {
  const text = await response.text();
  if (text === "") return undefined;
  const type = (response.headers.get("content-type") ?? "application/json")
    .split(";")[0]
    .trim()
    .toLowerCase();
  if (type === "text/plain") return text;
  if (type !== "application/json" && !type.endsWith("+json")) {
    throw new Error(`Unsupported response Content-Type: ${type}`);
  }
  const parsed: unknown = JSON.parse(text);
  return parseJsonStrings ? parseNestedJson(parsed) : parsed;
}

function parseNestedJson(value: unknown): unknown {
  if (typeof value === "string") {
    const trimmed = value.trim();
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
      try {
        return parseNestedJson(JSON.parse(trimmed));
      } catch {
        return value;
      }
    }
    return value;
  }
  if (Array.isArray(value)) return value.map(parseNestedJson);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, parseNestedJson(v)]));
  }
  return value;
}

/** Base URL and path joined with exactly one `/`. */
function joinUrl(base: string, path: unknown): string {
  if (path === undefined || path === null || path === "") return base;
  if (typeof path !== "string") throw new DocumentRequestError("$https.path must evaluate to a string");
  return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

export async function mapInOrder<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

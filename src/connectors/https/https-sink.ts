/**
 * Terminal `$https` (newer ASP: `$https` as the last stage, without `as`): one request per document, POST
 * unless `method` says otherwise, up to `concurrency` in flight. What belongs to one document goes to the
 * DLQ: a request that cannot be built, a status `onError` covers (400, 404, 410, 413, 414, 431; `ignore`
 * drops it, `fail` fails the processor), and a document whose request still fails (5xx, 408, 429, timeout)
 * after the connection's `maxRetries` attempts, recorded with its `attempts`. What belongs to the whole
 * connection fails the run: the endpoint unreachable (retryable: the supervisor restarts from the
 * checkpoint) or refusing the credentials (401/403, not retryable).
 */
import type { Doc, Vars } from "../../mql/index.ts";
import type { SinkPlan } from "../../pipeline/plan.ts";
import type { Sink, SinkFailure, SinkResult } from "../../runtime/sink.ts";
import { messageOf } from "../retry.ts";
import {
  HttpsProcessorError,
  mapInOrder,
  ON_ERROR_STATUSES,
  requestBuilder,
  type HttpsConnection,
} from "./https-stage.ts";

export type HttpsSinkPlan = Extract<SinkPlan, { kind: "connector"; stage: "$https" }>;

type Outcome =
  | { readonly ok: true; readonly bytes: number }
  | { readonly ok: false; readonly failure: Omit<SinkFailure, "index"> };

const DEFAULT_MAX_RETRIES = 3;
const NO_VARS: Vars = Object.freeze({});

export class HttpsSink implements Sink {
  readonly operatorName = "HttpsOperator";
  private readonly request: (doc: Doc, vars: Vars) => { url: string; init: RequestInit };
  private readonly onError: string;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly retryDelayMs: number;
  private readonly concurrency: number;

  constructor(plan: HttpsSinkPlan, connection: HttpsConnection, options: { concurrency?: number } = {}) {
    this.request = requestBuilder(plan, connection);
    this.onError = plan.options.onError;
    this.timeoutMs = plan.options.requestTimeoutSec * 1000;
    this.maxRetries = Math.max(1, connection.maxRetries ?? DEFAULT_MAX_RETRIES);
    this.retryDelayMs = connection.retryDelayMs ?? 200;
    this.concurrency = options.concurrency ?? 8;
  }

  async write(docs: readonly Doc[]): Promise<SinkResult> {
    const outcomes = await mapInOrder(docs, this.concurrency, (doc) => this.send(doc));
    let bytes = 0;
    const failures: SinkFailure[] = [];
    outcomes.forEach((outcome, index) => {
      if (outcome.ok) bytes += outcome.bytes;
      else failures.push({ index, ...outcome.failure });
    });
    return failures.length > 0 ? { bytes, failures } : { bytes };
  }

  async close(): Promise<void> {}

  private async send(doc: Doc): Promise<Outcome> {
    let url: string;
    let init: RequestInit;
    try {
      const vars = doc._stream_meta === undefined ? NO_VARS : { $stream: doc._stream_meta };
      ({ url, init } = this.request(doc, vars));
    } catch (error) {
      return { ok: false, failure: { message: messageOf(error) } };
    }
    const bytes = typeof init.body === "string" ? Buffer.byteLength(init.body) : 0;
    let last = "";
    for (let attempt = 1; attempt <= this.maxRetries; attempt++) {
      if (attempt > 1) await sleep(this.retryDelayMs * 2 ** (attempt - 2));
      let response: Response;
      try {
        response = await fetch(url, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
        await response.body?.cancel();
      } catch (error) {
        if ((error as Error).name !== "TimeoutError") {
          // Nothing answered at all: the endpoint is down for every document, not just this one.
          throw new HttpsProcessorError(
            `$https ${init.method} ${url} could not connect: ${connectionProblem(error)}`,
            true,
          );
        }
        last = `timed out after ${this.timeoutMs} ms`;
        continue;
      }
      if (response.ok) return { ok: true, bytes };
      const status = response.status;
      const message = `Request failed with status code ${status}: ${init.method} ${url}`;
      if (status === 401 || status === 403)
        throw new HttpsProcessorError(`${message}; check the connection's credentials`, false);
      if (ON_ERROR_STATUSES.has(status)) {
        if (this.onError === "fail") throw new HttpsProcessorError(message, false);
        return this.onError === "ignore" ? { ok: true, bytes: 0 } : { ok: false, failure: { message } };
      }
      if (!(status >= 500 || status === 408 || status === 429)) return { ok: false, failure: { message } };
      last = message;
    }
    return {
      ok: false,
      failure: { message: `${last} (gave up after ${this.maxRetries} attempts)`, attempts: this.maxRetries },
    };
  }
}

/** The socket-level reason undici wraps in "fetch failed". */
function connectionProblem(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${messageOf(error)} (${cause.message})` : messageOf(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

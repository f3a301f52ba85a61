/**
 * `sp serve`'s HTTP server on Fastify (why Fastify: docs/security.md, "The HTTP server"): Host check, bearer
 * auth and routing before any body is read, size-limited JSON bodies, Atlas-style errors, redacted responses
 * and one JSON access-log line per request. All behaviour lives in the control plane.
 */
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { EJSON } from "bson";
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from "fastify";
import { ControlPlane, type ControlPlaneOptions } from "../control/control-plane.ts";
import type { DispatchConfig } from "../dispatch/config.ts";
import { DispatchService } from "../dispatch/service.ts";
import { jsonLogger, type Logger } from "../runtime/log.ts";
import { ApiError, toApiError } from "./api-error.ts";
import { publicPaths, requireToken } from "./auth.ts";
import { DEFAULT_MAX_BODY_BYTES, parseJsonBody, tooLarge } from "./body.ts";
import { hostCheck } from "./host-check.ts";
import { apiRoutes, type Handler, type Reply } from "./routes.ts";
import type { RouteMatch } from "./router.ts";

export const DEFAULT_PORT = 8470;
export const DEFAULT_HOST = "127.0.0.1";
/** How long a client may take to send a whole request (headers and body) before the server gives up. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface ServerOptions {
  readonly host?: string;
  /** 0 picks a free port. Default 8470. */
  readonly port?: number;
  readonly dataDir: string;
  /** Bearer token required on every request except /health, /ready (and /metrics with `publicMetrics`). */
  readonly token: string;
  readonly stateUri?: string;
  readonly maxBodyBytes?: number;
  /** Names besides the bound address that clients may send as `Host` (a proxy's or a DNS name). */
  readonly allowedHosts?: readonly string[];
  /** Serve /metrics without a token (for scrapers that cannot send one). Default false. */
  readonly publicMetrics?: boolean;
  /** Default DEFAULT_REQUEST_TIMEOUT_MS. */
  readonly requestTimeoutMs?: number;
  /** Structured log lines (default: JSON lines on stderr); secrets are redacted before they reach it. */
  readonly logger?: Logger;
  readonly envDir?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly variables?: ControlPlaneOptions["variables"];
  readonly fileRoots?: ControlPlaneOptions["fileRoots"];
  readonly checkpointIntervalMs?: number;
  readonly statsIntervalMs?: number;
  readonly retry?: ControlPlaneOptions["retry"];
  readonly launch?: ControlPlaneOptions["launch"];
  readonly leaseTtlMs?: number;
  /** Event dispatch (docs/event-dispatch.md) run alongside the processors, with its job routes. */
  readonly dispatch?: DispatchConfig;
}

export interface EddyServer {
  readonly url: string;
  readonly plane: ControlPlane;
  /** Settles when the processors that were STARTED before have been brought back. */
  readonly resumed: Promise<void>;
  /** Stops accepting requests, stops processors with a final checkpoint (they stay STARTED), closes the store. */
  close(): Promise<void>;
}

/** What the checks before the body found out about a request. */
interface Routed {
  readonly started: number;
  readonly url: URL;
  route?: RouteMatch<Handler>;
  errorCode?: string;
}

export async function startServer(options: ServerOptions): Promise<EddyServer> {
  const plane = await ControlPlane.open({
    dataDir: options.dataDir,
    stateUri: options.stateUri,
    logger: options.logger ?? jsonLogger(),
    envDir: options.envDir,
    env: options.env,
    variables: options.variables,
    fileRoots: options.fileRoots,
    checkpointIntervalMs: options.checkpointIntervalMs,
    statsIntervalMs: options.statsIntervalMs,
    retry: options.retry,
    launch: options.launch,
    leaseTtlMs: options.leaseTtlMs,
  });
  plane.redactor.add(options.token);
  const log = plane.logger;
  const dispatchService = options.dispatch
    ? await DispatchService.start(options.dispatch, plane.logger)
    : undefined;
  const host = options.host ?? DEFAULT_HOST;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const routes = apiRoutes();
  const open = publicPaths({ publicMetrics: options.publicMetrics ?? false });
  const checkHost = hostCheck(host, options.allowedHosts);
  const routed = new WeakMap<FastifyRequest, Routed>();

  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const app = Fastify({
    logger: false,
    bodyLimit: maxBodyBytes,
    requestTimeout,
    // Given to node:http itself: its headers timeout is fixed when the server is created (default 60 s, and
    // longer than the request timeout it would win), and it checks timeouts only this often (default 30 s).
    http: {
      requestTimeout,
      headersTimeout: requestTimeout,
      connectionsCheckingInterval: Math.min(requestTimeout, 5_000),
    },
    exposeHeadRoutes: false,
    return503OnClosing: true,
    forceCloseConnections: "idle",
  });

  // Bodies arrive as bytes whatever their Content-Type; the route decides whether it wants one.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  // Everything that needs no body runs first, so a refused request is never read.
  app.addHook("onRequest", async (request) => {
    const state: Routed = { started: performance.now(), url: new URL(request.url, "http://localhost") };
    routed.set(request, state);
    checkHost(request.headers.host);
    state.route = routes.match(request.method, state.url.pathname);
    if (!open.has(state.url.pathname)) requireToken(request.headers.authorization, options.token);
  });

  const dispatch = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const state = routed.get(request);
    if (!state?.route) throw new Error("request reached its handler without a route");
    const abort = new AbortController();
    reply.raw.once("close", () => abort.abort());
    const result = await state.route.handler({
      req: request.raw as IncomingMessage,
      params: state.route.params,
      query: state.url.searchParams,
      plane,
      ...(dispatchService ? { dispatch: dispatchService } : {}),
      signal: abort.signal,
      body: async () => (Buffer.isBuffer(request.body) ? parseJsonBody(request.body) : undefined),
    });
    send(reply, result, plane, {});
  };
  app.all("/*", dispatch);
  app.setNotFoundHandler(dispatch);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const apiError = toApiError(asApiError(error, request, maxBodyBytes));
    const state = routed.get(request);
    if (state) state.errorCode = apiError.code;
    if (apiError.status >= 500) {
      log.error("request failed", { path: request.url, error: error.stack ?? String(error) });
    }
    send(reply, { status: apiError.status, json: apiError.body() }, plane, {
      ...apiError.headers,
      // The rest of a refused body is not read: the connection cannot carry another request.
      ...(apiError.status === 413 ? { Connection: "close" } : {}),
    });
  });

  app.addHook("onResponse", async (request, reply) => {
    const state = routed.get(request);
    log.info("http request", {
      method: request.method,
      path: state?.url.pathname ?? request.url,
      status: reply.statusCode,
      ...(state ? { durationMs: Math.round((performance.now() - state.started) * 10) / 10 } : {}),
      ...(state?.errorCode ? { errorCode: state.errorCode } : {}),
    });
  });

  // A malformed request never reaches a route; answer it when the socket still can, never throw.
  app.server.on("clientError", (error: NodeJS.ErrnoException) => {
    log.warn("malformed http request", { error: error.code ?? error.message });
  });

  try {
    await app.listen({ port: options.port ?? DEFAULT_PORT, host });
  } catch (error) {
    await plane.close();
    throw error;
  }
  const { port } = app.server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const resumed = plane.resume().catch((error: unknown) => {
    log.error("could not resume started processors", { error: (error as Error).message });
  });

  let closing: Promise<void> | undefined;
  return {
    url,
    plane,
    resumed,
    close: () => {
      closing ??= (async () => {
        const stopped = app.close();
        await resumed;
        await dispatchService?.close();
        await plane.close();
        app.server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}

/** Fastify's own request errors (body too large, bad Content-Length, bad URL) in the API's terms. */
function asApiError(error: FastifyError, request: FastifyRequest, maxBodyBytes: number): unknown {
  if (error instanceof ApiError) return error;
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE": {
      const declared = Number(request.headers["content-length"]);
      return tooLarge(maxBodyBytes, Number.isFinite(declared) && declared > 0 ? declared : undefined);
    }
    case "FST_ERR_BAD_URL":
      return ApiError.of("INVALID_PATH", { path: request.url });
    default:
      if (typeof error.statusCode === "number" && error.statusCode >= 400 && error.statusCode < 500) {
        return ApiError.of("BAD_REQUEST", { problem: error.message });
      }
      return error;
  }
}

function send(
  reply: FastifyReply,
  result: Reply,
  plane: ControlPlane,
  headers: Record<string, string>,
): void {
  const { redactor } = plane;
  let body: string;
  let contentType: string;
  if ("json" in result) {
    body = redactor.redact(EJSON.stringify(redactor.redactDeep(result.json), { relaxed: true }));
    contentType = "application/json; charset=utf-8";
  } else {
    body = redactor.redact(result.text);
    contentType = result.contentType;
  }
  void reply
    .code(result.status)
    .headers({ "Content-Type": contentType, "Cache-Control": "no-store", ...headers })
    .send(body);
}

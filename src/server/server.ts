/**
 * `sp serve`'s HTTP server (node:http): routing, bearer auth, size-limited JSON bodies, Atlas-style errors,
 * redacted responses and one JSON access-log line per request. All behaviour lives in the control plane.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { EJSON } from "bson";
import { ControlPlane, type ControlPlaneOptions } from "../control/control-plane.ts";
import type { DispatchConfig } from "../dispatch/config.ts";
import { DispatchService } from "../dispatch/service.ts";
import { jsonLogger, type Logger } from "../runtime/log.ts";
import { ApiError, toApiError } from "./api-error.ts";
import { requireToken } from "./auth.ts";
import { DEFAULT_MAX_BODY_BYTES, parseJsonBody, readBody } from "./body.ts";
import { apiRoutes, type Reply } from "./routes.ts";

export const DEFAULT_PORT = 8470;
export const DEFAULT_HOST = "127.0.0.1";

export interface ServerOptions {
  readonly host?: string;
  /** 0 picks a free port. Default 8470. */
  readonly port?: number;
  readonly dataDir: string;
  /** Bearer token required on mutating requests. */
  readonly token: string;
  readonly stateUri?: string;
  readonly maxBodyBytes?: number;
  /** Structured log lines (default: JSON lines on stderr); secrets are redacted before they reach it. */
  readonly logger?: Logger;
  readonly envDir?: string;
  readonly env?: NodeJS.ProcessEnv;
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

export async function startServer(options: ServerOptions): Promise<EddyServer> {
  const plane = await ControlPlane.open({
    dataDir: options.dataDir,
    stateUri: options.stateUri,
    logger: options.logger ?? jsonLogger(),
    envDir: options.envDir,
    env: options.env,
    checkpointIntervalMs: options.checkpointIntervalMs,
    statsIntervalMs: options.statsIntervalMs,
    retry: options.retry,
    launch: options.launch,
    leaseTtlMs: options.leaseTtlMs,
  });
  plane.redactor.add(options.token);
  const dispatch = options.dispatch ? await DispatchService.start(options.dispatch, plane.logger) : undefined;
  const routes = apiRoutes();
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log = plane.logger;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const url = new URL(req.url ?? "/", "http://localhost");
    const abort = new AbortController();
    res.once("close", () => abort.abort());
    let reply: Reply;
    let apiError: ApiError | undefined;
    try {
      const route = routes.match(req.method ?? "GET", url.pathname);
      requireToken(req, options.token);
      reply = await route.handler({
        req,
        params: route.params,
        query: url.searchParams,
        plane,
        ...(dispatch ? { jobs: dispatch.jobs } : {}),
        signal: abort.signal,
        body: async () => parseJsonBody(await readBody(req, maxBodyBytes)),
      });
    } catch (error) {
      apiError = toApiError(error);
      if (apiError.status >= 500)
        log.error("request failed", { path: url.pathname, error: (error as Error).stack ?? String(error) });
      reply = { status: apiError.status, json: apiError.body() };
    }
    const bodyTooLarge = apiError?.status === 413;
    send(res, reply, plane, { ...apiError?.headers, ...(bodyTooLarge ? { Connection: "close" } : {}) });
    if (bodyTooLarge) res.once("finish", () => req.socket.destroySoon());
    log.info("http request", {
      method: req.method,
      path: url.pathname,
      status: reply.status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      ...(apiError ? { errorCode: apiError.code } : {}),
    });
  };

  const server = createServer((req, res) => void handle(req, res));
  const host = options.host ?? DEFAULT_HOST;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? DEFAULT_PORT, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
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
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await resumed;
        await dispatch?.close();
        await plane.close();
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}

function send(res: ServerResponse, reply: Reply, plane: ControlPlane, headers: Record<string, string>): void {
  const { redactor } = plane;
  let body: string;
  let contentType: string;
  if ("json" in reply) {
    body = redactor.redact(EJSON.stringify(redactor.redactDeep(reply.json), { relaxed: true }));
    contentType = "application/json; charset=utf-8";
  } else {
    body = redactor.redact(reply.text);
    contentType = reply.contentType;
  }
  res.writeHead(reply.status, {
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
    ...headers,
  });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

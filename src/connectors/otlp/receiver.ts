/**
 * The OTLP/HTTP receiver: `POST /v1/traces|metrics|logs` in protobuf or JSON, optionally gzip. A request is
 * checked completely (auth, rate limit, media type, size, decoding, ids) before anything is kept; then its
 * body is appended to the signal's spool and synced to disk, and only then answered 200 — with
 * `partial_success` when some items were rejected. A full spool (the processor behind it is down or slow,
 * e.g. while MongoDB is unreachable) answers 503 with Retry-After: the exporter retries, nothing is dropped.
 */
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import type { Logger } from "../../runtime/log.ts";
import { signalSpoolDir, type OtlpConfig } from "./config.ts";
import { decodeRequest } from "./decode.ts";
import { readRequestBody } from "./http-body.ts";
import type { TelemetryRecord } from "./mapping.ts";
import { encodeProtobufResponse, encodeProtobufStatus, PARTIAL_SUCCESS_FIELDS } from "./protobuf.ts";
import { offerSpoolGauges, receiverMetrics, type ReceiverMetrics, type SpoolGauge } from "./metrics.ts";
import { RateLimiter } from "./rate-limit.ts";
import { Rejection } from "./rejection.ts";
import { SIGNAL_PATHS, SIGNALS, type Signal } from "./signals.ts";
import { Spool, SpoolFullError, type BodyEncoding } from "./spool.ts";
import { OtlpInputError } from "./values.ts";

/** Mapped records of recently appended frames, handed to the first reader so it need not decode again. */
const HOT_FRAMES = 1024;

const MEDIA_TYPES: Readonly<Record<string, BodyEncoding>> = {
  "application/x-protobuf": "protobuf",
  "application/protobuf": "protobuf",
  "application/json": "json",
};

const GRPC_CODES: Readonly<Record<number, number>> = {
  400: 3,
  401: 16,
  404: 12,
  405: 12,
  413: 3,
  415: 3,
  429: 8,
  503: 14,
};

export class OtlpReceiver {
  readonly metrics: ReceiverMetrics;
  private readonly server: Server;
  private readonly spools: Record<Signal, Spool>;
  private readonly hot = new Map<Signal, Map<number, TelemetryRecord[]>>();
  private readonly waiters = new Map<Signal, (() => void)[]>();
  private readonly rateLimiter: RateLimiter | undefined;
  private readonly config: OtlpConfig;
  private readonly logger: Logger;
  readonly name: string;
  private closing: Promise<void> | undefined;
  private withdrawGauges: (() => void) | undefined;

  private constructor(name: string, config: OtlpConfig, spools: Record<Signal, Spool>, logger: Logger) {
    this.name = name;
    this.config = config;
    this.spools = spools;
    this.logger = logger;
    this.metrics = receiverMetrics(name);
    this.rateLimiter = config.rateLimit && new RateLimiter(config.rateLimit);
    this.server = createServer(
      { requestTimeout: 60_000, headersTimeout: 30_000, keepAliveTimeout: 30_000 },
      (req, res) => void this.handle(req, res),
    );
  }

  /** Opens the spools and listens; rejects with a clear message when the port is taken. */
  static async start(name: string, config: OtlpConfig, logger: Logger): Promise<OtlpReceiver> {
    const spools = {} as Record<Signal, Spool>;
    for (const signal of SIGNALS)
      spools[signal] = await Spool.open(signalSpoolDir(config, signal), {
        maxBytes: config.spool.maxBytes,
        segmentBytes: config.spool.segmentBytes,
      });
    const receiver = new OtlpReceiver(name, config, spools, logger);
    await new Promise<void>((resolve, reject) => {
      receiver.server.once("error", (error: NodeJS.ErrnoException) =>
        reject(
          new Error(
            `OTLP connection '${name}' cannot listen on ${config.host}:${config.port} (${error.code ?? error.message}); ` +
              "stop what uses the port or set config.port",
          ),
        ),
      );
      receiver.server.listen(config.port, config.host, resolve);
    });
    receiver.withdrawGauges = offerSpoolGauges(() => receiver.spoolGauges());
    logger.info("OTLP receiver listening", { connection: name, host: config.host, port: receiver.port });
    return receiver;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    const host = this.config.host.includes(":") ? `[${this.config.host}]` : this.config.host;
    return `http://${host}:${this.port}`;
  }

  spool(signal: Signal): Spool {
    return this.spools[signal];
  }

  /** The mapped records of the frame at `offset`, once, if still in memory. */
  takeHot(signal: Signal, offset: number): TelemetryRecord[] | undefined {
    const frames = this.hot.get(signal);
    const records = frames?.get(offset);
    if (records) frames!.delete(offset);
    return records;
  }

  /** Resolves when a frame is appended to `signal`'s spool, or after `timeoutMs`. */
  waitForAppend(signal: Signal, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const list = this.waiters.get(signal) ?? [];
      this.waiters.set(signal, list);
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      list.push(done);
    });
  }

  async close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.withdrawGauges?.();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    for (const signal of SIGNALS) await this.spools[signal].close();
    for (const list of this.waiters.values()) for (const wake of list.splice(0)) wake();
  }

  /** The spools' backlog and lag now, for `/metrics`. */
  async spoolGauges(now = Date.now()): Promise<SpoolGauge[]> {
    const gauges: SpoolGauge[] = [];
    for (const signal of SIGNALS) {
      const spool = this.spools[signal];
      const oldest = await spool.oldestUnacknowledgedAt().catch(() => undefined);
      gauges.push({
        connection: this.name,
        signal,
        backlogBytes: spool.backlogBytes,
        lagSeconds: oldest === undefined ? 0 : Math.max(0, now - oldest) / 1000,
      });
    }
    return gauges;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrived = performance.now();
    const requestId = correlationId(req);
    res.setHeader("X-Request-Id", requestId);
    const contentType = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    const encoding = MEDIA_TYPES[contentType];
    const path = (req.url ?? "/").split("?")[0]!;
    const signal: Signal | undefined = SIGNAL_PATHS[path];
    let decodedItems = 0;
    try {
      if (req.method === "GET" && path === "/health") {
        this.metrics.request("", 200);
        return send(res, 200, "application/json", '{"status":"ok"}');
      }
      if (!signal)
        throw new Rejection(
          404,
          `no such endpoint '${path}'; OTLP/HTTP serves POST /v1/traces, /v1/metrics and /v1/logs`,
        );
      if (req.method !== "POST") {
        res.setHeader("Allow", "POST");
        throw new Rejection(405, `${req.method} is not allowed on ${path}; send POST`);
      }
      const client = this.authenticate(req);
      const wait = this.rateLimiter?.take(client) ?? 0;
      if (wait > 0)
        throw new Rejection(
          429,
          `rate limit of ${this.config.rateLimit!.requestsPerSecond} requests/s exceeded`,
          wait,
        );
      if (!encoding)
        throw new Rejection(
          415,
          `Content-Type '${contentType}' is not supported; send application/x-protobuf or application/json`,
        );
      const body = await readRequestBody(req, this.config);
      const receivedAt = Date.now();
      const mapped = decodeRequest(signal, encoding, body, receivedAt);
      decodedItems = mapped.records.length + mapped.rejected;
      if (mapped.records.length > 0)
        await this.store(signal, { encoding, receivedAt, requestId, body }, mapped.records);
      this.metrics.request(signal, 200);
      this.metrics.accepted(signal, mapped.records.length, body.length, (performance.now() - arrived) / 1000);
      this.metrics.rejected(signal, "invalid", mapped.rejected);
      if (mapped.rejected > 0 || mapped.errorMessage !== "")
        this.logger.warn("OTLP items rejected", {
          connection: this.name,
          requestId,
          signal,
          rejected: mapped.rejected,
          reason: mapped.errorMessage,
        });
      if (encoding === "protobuf")
        return send(
          res,
          200,
          "application/x-protobuf",
          encodeProtobufResponse(signal, mapped.rejected, mapped.errorMessage),
        );
      const partial =
        mapped.rejected > 0 || mapped.errorMessage !== ""
          ? {
              partialSuccess: {
                [PARTIAL_SUCCESS_FIELDS[signal]]: String(mapped.rejected),
                errorMessage: mapped.errorMessage,
              },
            }
          : {};
      return send(res, 200, "application/json", JSON.stringify(partial));
    } catch (error) {
      const rejection = asRejection(error, this.config.retryAfterSeconds);
      this.metrics.request(signal ?? "", rejection.status);
      if (signal) this.metrics.rejected(signal, "refused", decodedItems);
      this.logger[rejection.status >= 500 ? "error" : "warn"]("OTLP request refused", {
        connection: this.name,
        requestId,
        status: rejection.status,
        error: rejection.message,
      });
      if (rejection.retryAfterSeconds !== undefined)
        res.setHeader("Retry-After", String(rejection.retryAfterSeconds));
      // A body left unread (refused early) would be taken for the next request on this connection.
      if (!req.complete) res.setHeader("Connection", "close");
      const code = GRPC_CODES[rejection.status] ?? 2;
      if (encoding === "protobuf")
        return send(
          res,
          rejection.status,
          "application/x-protobuf",
          encodeProtobufStatus(code, rejection.message),
        );
      return send(
        res,
        rejection.status,
        "application/json",
        JSON.stringify({ code, message: rejection.message }),
      );
    }
  }

  /** The client's identity for rate limits: its token, else its address. Throws 401 when auth fails. */
  private authenticate(req: IncomingMessage): string {
    const { bearerTokens, apiKeys, apiKeyHeader } = this.config;
    const address = req.socket.remoteAddress ?? "unknown";
    if (bearerTokens.length === 0 && apiKeys.length === 0) return address;
    const authorization = req.headers.authorization;
    const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
    if (bearer !== undefined && bearerTokens.some((token) => sameToken(bearer, token)))
      return `token:${bearer}`;
    const key = req.headers[apiKeyHeader];
    if (typeof key === "string" && apiKeys.some((expected) => sameToken(key, expected))) return `key:${key}`;
    throw new Rejection(
      401,
      bearer !== undefined || key !== undefined
        ? "the token or API key is not valid for this OTLP receiver"
        : `this OTLP receiver needs 'Authorization: Bearer <token>' or the '${apiKeyHeader}' header ` +
            "(set OTEL_EXPORTER_OTLP_HEADERS)",
    );
  }

  private async store(
    signal: Signal,
    entry: { encoding: BodyEncoding; receivedAt: number; requestId: string; body: Buffer },
    records: TelemetryRecord[],
  ): Promise<void> {
    let offset: number;
    try {
      offset = await this.spools[signal].append(entry);
    } catch (error) {
      if (error instanceof SpoolFullError)
        throw new Rejection(
          503,
          "the receiver's spool is full: the processor reading it is behind or stopped (is MongoDB reachable?); retry later",
          this.config.retryAfterSeconds,
        );
      throw new Rejection(
        503,
        `the request could not be stored durably (${(error as Error).message}); retry later`,
        this.config.retryAfterSeconds,
      );
    }
    let frames = this.hot.get(signal);
    if (!frames) this.hot.set(signal, (frames = new Map()));
    frames.set(offset, records);
    if (frames.size > HOT_FRAMES) frames.delete(frames.keys().next().value!);
    for (const wake of this.waiters.get(signal)?.splice(0) ?? []) wake();
  }
}

function asRejection(error: unknown, retryAfterSeconds: number): Rejection {
  if (error instanceof Rejection) return error;
  if (error instanceof OtlpInputError) return new Rejection(400, error.message);
  return new Rejection(
    503,
    `the receiver failed on this request (${(error as Error).message}); retry later`,
    retryAfterSeconds,
  );
}

/** The client's `X-Request-Id` when it is a sane token, else a new UUID. */
function correlationId(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
}

function send(res: ServerResponse, status: number, contentType: string, body: string | Uint8Array): void {
  res.writeHead(status, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

/** Constant-time token comparison (both sides hashed to the same length first). */
function sameToken(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  return timingSafeEqual(a, createHash("sha256").update(expected).digest());
}

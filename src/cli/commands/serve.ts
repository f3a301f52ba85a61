/** `sp serve`: the long-running server holding workspaces, connections and processors (docs/api.md). */
import { randomBytes } from "node:crypto";
import { readFile, writeFile, chmod } from "node:fs/promises";
import { join, resolve } from "node:path";
import { prepareDataDir } from "../../control/data-dir.ts";
import { describeStateStore } from "../../control/open-state-store.ts";
import { DEFAULT_ENV_PREFIX } from "../../control/placeholders.ts";
import { dispatchConfigFromEnv } from "../../dispatch/config.ts";
import { jsonLogger } from "../../runtime/log.ts";
import { DEFAULT_HOST, DEFAULT_PORT, startServer } from "../../server/server.ts";
import { DEFAULT_WIRE_PORT } from "../../server/wire/wire-server.ts";
import { parseArgs, UsageError } from "../args.ts";
import type { CliIo } from "../io.ts";

export const SERVE_USAGE = `usage: sp serve [--host HOST] [--port PORT] [--wire-port PORT] [--data-dir DIR] [--token TOKEN] [--state-uri URI]
                [--max-body-bytes N] [--env-dir DIR] [--checkpoint-interval MS] [--lease-ttl MS]
                [--allowed-host NAME]... [--public-metrics] [--allow-env NAME]... [--env-prefix PREFIX]...
                [--allow-dir DIR]...

Runs the Eddy server: the HTTP API (docs/api.md) on http://HOST:PORT (default ${DEFAULT_HOST}:${DEFAULT_PORT}),
and the MongoDB wire protocol for mongosh's sp (docs/mongosh.md) on HOST:WIRE-PORT (default ${DEFAULT_WIRE_PORT};
user eddy, the token as password), with workspaces, connections and processors kept in a state store. Processors that were STARTED come back
(from their checkpoint) when the server restarts.
  --wire-port PORT      the MongoDB wire-protocol port (default ${DEFAULT_WIRE_PORT}; 0 picks a free one, printed as wireUrl)
  --data-dir DIR        where state lives (default .eddy, or EDDY_DATA_DIR); mode 0700, and locked: a second
                        server on the same DIR (with the file state store) is refused
  --token TOKEN         bearer token for every request but /health and /ready (or EDDY_API_TOKEN); without
                        one the server keeps a generated token in DIR/api-token (mode 0600), which the CLI reads
  --state-uri URI       mongodb://… or redis://… state store (or EDDY_STATE_URI); default: files in DIR/state
  --max-body-bytes N    request body limit (default 1048576)
  --env-dir DIR         the workspace folder: its .env / config.txt fill {{VAR}} (default: the working directory)
  --allow-env NAME      an environment variable {{NAME}} may read (repeatable, or EDDY_ALLOW_ENV=A,B);
                        besides these, only variables starting with a --env-prefix resolve
  --env-prefix PREFIX   environment variables with this prefix resolve (repeatable, or EDDY_ENV_PREFIXES;
                        default EDDY_; EDDY_API_TOKEN and EDDY_STATE_URI never do)
  --allow-dir DIR       a folder File connections may read (repeatable, or EDDY_ALLOW_DIRS=A,B; default: the
                        --env-dir folder); the data directory is always refused
  --allowed-host NAME   a Host name clients may use besides the bound address (repeatable, or
                        EDDY_ALLOWED_HOSTS=A,B): a proxy's or DNS name; others get 421 (DNS rebinding)
  --public-metrics      serve /metrics without the token (for scrapers that cannot send one)
  --checkpoint-interval MS  how often running processors checkpoint (or EDDY_CHECKPOINT_INTERVAL_MS)
  --lease-ttl MS        with a shared MongoDB/Redis state store, several servers share the processors: each
                        runs on one server, and a standby takes over at most MS after it dies (default 15000,
                        or EDDY_LEASE_TTL_MS)
With FC_MONGO_URL set it also runs event dispatch (matcher + dispatcher, FC_* variables: docs/event-dispatch.md)
and serves its jobs under /api/v1/dispatch/jobs (sp jobs).
Prints one JSON line {"url", "console", "wireUrl", …} on stdout once listening (the web console:
docs/console.md; mongosh: docs/mongosh.md); logs are JSON lines on stderr.
SIGINT/SIGTERM stop it gracefully: processors stop with a final checkpoint and stay STARTED.`;

export async function serveCommand(args: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(args, {
      valued: [
        "host",
        "port",
        "wire-port",
        "data-dir",
        "token",
        "state-uri",
        "max-body-bytes",
        "env-dir",
        "checkpoint-interval",
        "lease-ttl",
      ],
      repeated: ["allowed-host", "allow-env", "env-prefix", "allow-dir"],
      flags: ["help", "public-metrics"],
    });
    if (parsed.flags.has("help")) {
      io.stdout.write(SERVE_USAGE + "\n");
      return 0;
    }
    if (parsed.positional.length > 0) throw new UsageError(`unexpected argument '${parsed.positional[0]}'`);
  } catch (error) {
    io.stderr.write(`sp serve: ${(error as Error).message}\n${SERVE_USAGE}\n`);
    return 2;
  }
  const opt = (name: string, env?: string): string | undefined =>
    parsed.options.get(name) ?? (env ? process.env[env] || undefined : undefined);
  const port = integerOption(opt("port"), "--port", DEFAULT_PORT, io);
  const wirePort = integerOption(opt("wire-port"), "--wire-port", DEFAULT_WIRE_PORT, io);
  const maxBodyBytes = integerOption(opt("max-body-bytes"), "--max-body-bytes", 1024 * 1024, io);
  const checkpointIntervalMs = integerOption(
    opt("checkpoint-interval", "EDDY_CHECKPOINT_INTERVAL_MS"),
    "--checkpoint-interval",
    undefined,
    io,
  );
  const leaseTtlMs = integerOption(opt("lease-ttl", "EDDY_LEASE_TTL_MS"), "--lease-ttl", undefined, io);
  if (
    port === null ||
    wirePort === null ||
    maxBodyBytes === null ||
    checkpointIntervalMs === null ||
    leaseTtlMs === null
  )
    return 2;
  /** A repeatable option's values, else its environment variable's comma-separated list. */
  const list = (name: string, env: string): string[] | undefined =>
    parsed.lists.get(name) ??
    process.env[env]
      ?.split(",")
      .map((item) => item.trim())
      .filter(Boolean);
  const dataDir = resolve(opt("data-dir", "EDDY_DATA_DIR") ?? ".eddy");
  const envDir = resolve(opt("env-dir") ?? ".");
  const stateUri = opt("state-uri", "EDDY_STATE_URI");
  const logger = jsonLogger((line) => io.stderr.write(line));
  try {
    await prepareDataDir(dataDir);
    const token = opt("token", "EDDY_API_TOKEN") ?? (await localToken(dataDir));
    const server = await startServer({
      host: opt("host") ?? DEFAULT_HOST,
      port,
      wirePort,
      dataDir,
      token,
      stateUri,
      maxBodyBytes,
      logger,
      envDir,
      variables: {
        prefixes: list("env-prefix", "EDDY_ENV_PREFIXES") ?? [DEFAULT_ENV_PREFIX],
        names: list("allow-env", "EDDY_ALLOW_ENV") ?? [],
      },
      fileRoots: (list("allow-dir", "EDDY_ALLOW_DIRS") ?? [envDir]).map((dir) => resolve(dir)),
      allowedHosts: list("allowed-host", "EDDY_ALLOWED_HOSTS") ?? [],
      publicMetrics: parsed.flags.has("public-metrics"),
      ...(checkpointIntervalMs !== undefined ? { checkpointIntervalMs } : {}),
      ...(leaseTtlMs !== undefined ? { leaseTtlMs } : {}),
      ...(process.env.FC_MONGO_URL ? { dispatch: dispatchConfigFromEnv(process.env) } : {}),
    });
    io.stdout.write(
      JSON.stringify({
        url: server.url,
        console: `${server.url}/console`,
        ...(server.wireUrl ? { wireUrl: server.wireUrl } : {}),
        dataDir,
        stateStore: describeStateStore({ dataDir, stateUri }),
        ...(opt("token", "EDDY_API_TOKEN") ? {} : { tokenFile: join(dataDir, "api-token") }),
      }) + "\n",
    );
    await new Promise<void>((done) => {
      const stop = (signal: string): void => {
        logger.info("stopping", { signal });
        process.once(signal, () => process.exit(1)); // a second signal: do not wait any longer
        void server.close().then(done, (error: unknown) => {
          logger.error("stop failed", { error: (error as Error).message });
          done();
        });
      };
      process.once("SIGINT", () => stop("SIGINT"));
      process.once("SIGTERM", () => stop("SIGTERM"));
    });
    logger.info("stopped");
    return 0;
  } catch (error) {
    logger.error("server failed to start", { error: (error as Error).message });
    io.stderr.write(`sp serve: ${(error as Error).message}\n`);
    return 1;
  }
}

/** The token in `<dataDir>/api-token`, generated (mode 0600) on the first start. */
async function localToken(dataDir: string): Promise<string> {
  const file = join(dataDir, "api-token");
  const existing = await readFile(file, "utf8").catch(() => "");
  if (existing.trim()) {
    await chmod(file, 0o600);
    return existing.trim();
  }
  const token = randomBytes(32).toString("base64url");
  await writeFile(file, token + "\n", { mode: 0o600 });
  return token;
}

/** The option's value, `fallback` when it is absent, null (after saying why) when it is not an integer. */
function integerOption<T extends number | undefined>(
  value: string | undefined,
  name: string,
  fallback: T,
  io: CliIo,
): number | T | null {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) {
    io.stderr.write(`sp serve: ${name} must be a non-negative integer, got '${value}'\n`);
    return null;
  }
  return Number(value);
}

// Redis and PostgreSQL are machine services: use the running ones, start them if they are down, and
// leave them running afterwards (they were meant to be up).
import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { connect } from "node:net";
import { promisify } from "node:util";
import pg from "pg";
import { HOST, ports, timeouts } from "./config.ts";
import { waitUntil } from "./wait.ts";

const run = promisify(execFile);

export const redisUrl = `redis://${HOST}:${ports.redis}`;
export const postgresUrl = `postgres://postgres@${HOST}:${ports.postgres}/test`;

/** Sends an inline PING and expects +PONG. */
export function isRedisUp(timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port: ports.redis });
    let reply = "";
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
    socket.once("error", () => done(false));
  });
}

export async function isPostgresUp(timeoutMs = 2000): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function ensureRedis(): Promise<void> {
  if (await isRedisUp()) return;
  try {
    await run("redis-server", [
      "--daemonize",
      "yes",
      "--bind",
      "127.0.0.1",
      "-::1",
      "--port",
      String(ports.redis),
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      "/var/lib/redis",
      "--logfile",
      "/var/log/redis/ci.log",
    ]);
  } catch (error) {
    throw new Error(
      `Redis is down on ${HOST}:${ports.redis} and redis-server failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
  await waitUntil(() => isRedisUp(), {
    what: `Redis on ${HOST}:${ports.redis}`,
    timeoutMs: timeouts.systemServiceReadyMs,
    diagnostics: () => "see /var/log/redis/ci.log",
  });
}

export async function ensurePostgres(): Promise<void> {
  if (await isPostgresUp()) return;
  try {
    const [version] = await readdir("/etc/postgresql");
    if (version === undefined) throw new Error("no cluster under /etc/postgresql");
    await run("pg_ctlcluster", ["--skip-systemctl-redirect", version, "main", "start"]);
  } catch (error) {
    throw new Error(
      `PostgreSQL is down on ${HOST}:${ports.postgres} and pg_ctlcluster failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
  await waitUntil(() => isPostgresUp(), {
    what: `PostgreSQL on ${HOST}:${ports.postgres} (trust auth, database "test")`,
    timeoutMs: timeouts.systemServiceReadyMs,
    diagnostics: () => "see /var/log/postgresql/",
  });
}

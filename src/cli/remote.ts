/**
 * What every command that talks to an Eddy server shares: the `--server`/`--token`/`--workspace`/`--dir`
 * options, their environment variables, and the API token a local `sp serve` leaves in its data dir.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseEnvFile } from "../control/placeholders.ts";
import { parseArgs, UsageError, type ParsedArgs } from "./args.ts";
import { EddyClient } from "./client.ts";
import type { CliIo } from "./io.ts";

export const DEFAULT_SERVER = "http://127.0.0.1:8470";
export const DEFAULT_WORKSPACE = "default";
export const DEFAULT_DATA_DIR = ".eddy";

/** Options every remote command takes (valued ones, then flags). */
const REMOTE_VALUED = ["server", "token", "workspace", "dir", "data-dir", "timeout", "config"] as const;
const REMOTE_FLAGS = ["json", "help"] as const;

export const REMOTE_OPTIONS_HELP = `common options:
  --server URL       Eddy server (default $EDDY_SERVER or ${DEFAULT_SERVER})
  --token TOKEN      API token for changes (default $EDDY_API_TOKEN; for a server on this machine,
                     <data dir>/api-token as \`sp serve\` writes it)
  --data-dir DIR     where to find api-token (default $EDDY_DATA_DIR or ${DEFAULT_DATA_DIR})
  --workspace NAME   server workspace (default $SP_WORKSPACE_NAME, else config.txt's SP_WORKSPACE_NAME,
                     else ${DEFAULT_WORKSPACE})
  --dir DIR          local workspace folder with connections/ and processors/ (default: current directory)
  --timeout SECONDS  per-request timeout (default 60)
  --config FILE      KEY=VALUE settings (default: config.txt in --dir or its parent, as the seed \`sp\`
                     tool keeps it): SP_WORKSPACE_NAME (or SP_INSTANCE_NAME), EDDY_SERVER,
                     EDDY_API_TOKEN, EDDY_DATA_DIR; the environment wins over the file
  --json             print JSON instead of tables`;

export interface Remote {
  readonly client: EddyClient;
  readonly workspace: string;
  /** The local workspace folder. */
  readonly dir: string;
  readonly json: boolean;
  readonly parsed: ParsedArgs;
  readonly io: CliIo;
}

/** Parses `args` with the remote options plus a command's own, and builds the client. */
export async function remoteContext(
  args: readonly string[],
  io: CliIo,
  own: { valued?: readonly string[]; flags?: readonly string[] } = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<Remote> {
  const parsed = parseArgs(args, {
    valued: [...REMOTE_VALUED, ...(own.valued ?? [])],
    flags: [...REMOTE_FLAGS, ...(own.flags ?? [])],
  });
  const dir = resolve(parsed.options.get("dir") ?? ".");
  const settings = { ...(await readConfigFile(parsed.options.get("config"), dir)), ...definedOf(env) };
  const server = parsed.options.get("server") ?? settings.EDDY_SERVER ?? DEFAULT_SERVER;
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(`--server expects a URL like ${DEFAULT_SERVER}, got '${server}'`);
  }
  const timeout = parsed.options.get("timeout");
  const timeoutSeconds = timeout === undefined ? 60 : Number(timeout);
  if (!(timeoutSeconds > 0)) throw new UsageError(`--timeout expects a number of seconds, got '${timeout}'`);
  const token = await resolveToken(parsed, settings, url);
  return {
    client: new EddyClient({ server, ...token, timeoutMs: timeoutSeconds * 1000 }),
    workspace:
      parsed.options.get("workspace") ??
      settings.SP_WORKSPACE_NAME ??
      settings.SP_INSTANCE_NAME ??
      DEFAULT_WORKSPACE,
    dir,
    json: parsed.flags.has("json"),
    parsed,
    io,
  };
}

/**
 * The seed tool's `config.txt` (KEY=VALUE lines, `#` comments): `--config FILE`, else `config.txt` in the
 * workspace folder or its parent when there is one. Its Atlas keys (PUBLIC_KEY, PRIVATE_KEY, PROJECT_ID)
 * mean nothing to Eddy and are ignored; `{{VAR}}` values are the server's business (its `--env-dir`).
 */
async function readConfigFile(given: string | undefined, dir: string): Promise<Record<string, string>> {
  const candidates =
    given !== undefined ? [resolve(given)] : [join(dir, "config.txt"), join(dir, "..", "config.txt")];
  for (const file of candidates) {
    const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (given !== undefined)
        throw new UsageError(`cannot read --config ${given}: ${error.code ?? error.message}`);
      return undefined;
    });
    if (text !== undefined) return parseEnvFile(text);
  }
  return {};
}

function definedOf(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== "") out[key] = value;
  return out;
}

/** `--token`, then `EDDY_API_TOKEN`, then (for a server on this machine) the token file of `sp serve`. */
async function resolveToken(
  parsed: ParsedArgs,
  env: Readonly<Record<string, string | undefined>>,
  server: URL,
): Promise<{ token?: string; tokenSource?: string }> {
  const given = parsed.options.get("token");
  if (given !== undefined) return { token: given, tokenSource: "--token" };
  if (env.EDDY_API_TOKEN) return { token: env.EDDY_API_TOKEN, tokenSource: "EDDY_API_TOKEN" };
  if (!isLoopback(server.hostname)) return {};
  const file = join(parsed.options.get("data-dir") ?? env.EDDY_DATA_DIR ?? DEFAULT_DATA_DIR, "api-token");
  const text = await readFile(file, "utf8").catch(() => undefined);
  const token = text?.trim();
  return token ? { token, tokenSource: file } : {};
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || hostname === "::1" || /^127\./.test(hostname);
}

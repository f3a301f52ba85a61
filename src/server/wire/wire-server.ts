/**
 * `sp serve`'s MongoDB wire-protocol listener (docs/mongosh.md): mongosh and MongoDB drivers connect with
 * `mongodb://eddy:<token>@host:port/` and manage the processors of one workspace with `sp`.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import type { ControlPlane } from "../../control/control-plane.ts";
import { DEFAULT_WORKSPACE } from "../../control/workspace-registry.ts";
import type { CommandTable } from "./command-types.ts";
import { SampleCursors } from "./sample-cursors.ts";
import { scramCredentials } from "./scram.ts";
import { SERVER_COMMANDS } from "./server-commands.ts";
import { STREAM_COMMANDS } from "./stream-commands.ts";
import { WireConnection } from "./wire-connection.ts";

export const DEFAULT_WIRE_PORT = 27117;
/** MongoDB's own default maximum message size. */
export const DEFAULT_MAX_MESSAGE_BYTES = 48_000_000;

export interface WireServerOptions {
  readonly plane: ControlPlane;
  /** The password of user `eddy`. */
  readonly token: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly maxMessageBytes?: number;
  /** Default: the `default` workspace. */
  readonly workspace?: string;
}

export interface WireServer {
  /** `mongodb://host:port/` (without credentials). */
  readonly url: string;
  close(): Promise<void>;
}

const COMMANDS: CommandTable = { ...SERVER_COMMANDS, ...STREAM_COMMANDS };

export async function startWireServer(options: WireServerOptions): Promise<WireServer> {
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const { plane } = options;
  const context = {
    limits: { maxMessageBytes },
    credentials: await scramCredentials(options.token),
    log: plane.logger,
    plane,
    workspace: options.workspace ?? DEFAULT_WORKSPACE,
    cursors: new SampleCursors(plane.processors, Math.floor(maxMessageBytes / 2)),
  };
  // sp.process() processors left by a server that did not stop cleanly have no client any more.
  for (const view of await plane.processors.list(context.workspace)) {
    if (view.ephemeral) await plane.processors.drop(context.workspace, view.name);
  }
  const connections = new Set<WireConnection>();
  let nextId = 1;
  const server: Server = createServer((socket: Socket) => {
    const connection = new WireConnection(socket, nextId++, COMMANDS, context);
    connections.add(connection);
    socket.once("close", () => connections.delete(connection));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? new Error(
              `the MongoDB wire-protocol port ${options.host}:${options.port} is in use; ` +
                "pick another with --wire-port (0 picks a free one)",
            )
          : error,
      ),
    );
    server.listen(options.port, options.host, () => {
      server.removeAllListeners("error");
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `mongodb://${host}:${address.port}/`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of connections) connection.destroy();
      await closed;
      await Promise.all([...connections].map((connection) => connection.idle()));
      await context.cursors.close();
    },
  };
}

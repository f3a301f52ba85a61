/**
 * One client connection: frames in, one command at a time, replies out. A malformed frame closes this
 * connection only; a failing command answers with MongoDB's error shape and the connection goes on.
 */
import type { Socket } from "node:net";
import type { Document } from "bson";
import { commandNotFound, toCommandError, unauthorized, type CommandError } from "./command-error.ts";
import type { CommandContext, CommandTable, ConnectionState } from "./command-types.ts";
import {
  encodeMsg,
  encodeReply,
  FrameError,
  FrameReader,
  OP_MSG,
  parseRequest,
  type WireRequest,
} from "./frames.ts";

export type ConnectionContext = Omit<CommandContext, "state" | "signal">;

/** Requests read ahead of their answers: past this, the socket stops reading until the queue drains. */
const MAX_PENDING = 16;

export class WireConnection {
  private readonly socket: Socket;
  private readonly commands: CommandTable;
  private readonly context: CommandContext;
  private readonly reader: FrameReader;
  private readonly abort = new AbortController();
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private nextRequestId = 1;

  constructor(socket: Socket, connectionId: number, commands: CommandTable, context: ConnectionContext) {
    this.socket = socket;
    this.commands = commands;
    const state: ConnectionState = {
      connectionId,
      peer: `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? 0}`,
      authenticated: false,
    };
    this.context = { ...context, state, signal: this.abort.signal };
    this.reader = new FrameReader(context.limits.maxMessageBytes);
    socket.on("data", (chunk: Buffer) => this.received(chunk));
    socket.on("error", () => socket.destroy());
    socket.on("close", () => this.closed());
  }

  get state(): ConnectionState {
    return this.context.state;
  }

  /** Settles once every request read so far has been answered. */
  idle(): Promise<void> {
    return this.queue;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.reader.push(chunk);
      const requests = frames.map(parseRequest);
      for (const request of requests) {
        if (++this.pending >= MAX_PENDING) this.socket.pause();
        this.queue = this.queue
          .then(() => this.answer(request))
          .catch((error: unknown) => this.refuse(error))
          .finally(() => {
            if (--this.pending < MAX_PENDING) this.socket.resume();
          });
      }
    } catch (error) {
      this.refuse(error);
    }
  }

  private refuse(error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    const what = error instanceof FrameError ? "malformed message" : "the reply could not be sent";
    this.context.log.warn(`wire connection closed: ${what}`, { peer: this.state.peer, reason });
    this.socket.destroy();
  }

  private async answer(request: WireRequest): Promise<void> {
    if (this.socket.destroyed) return;
    const reply = await this.run(request);
    if (request.noReply || this.socket.destroyed) return;
    const id = this.nextRequestId++;
    const frame =
      request.opCode === OP_MSG
        ? encodeMsg(id, request.requestId, reply)
        : encodeReply(id, request.requestId, reply);
    this.socket.write(frame);
  }

  private async run(request: WireRequest): Promise<Document> {
    const name = Object.keys(request.command)[0] ?? "";
    const spec = Object.hasOwn(this.commands, name) ? this.commands[name] : undefined;
    try {
      if (!spec) {
        this.context.log.info("wire command not supported", { command: name, peer: this.state.peer });
        throw commandNotFound(name);
      }
      if (!spec.handshake && !this.state.authenticated) throw unauthorized(name);
      return await spec.run(request.command, this.context);
    } catch (error) {
      const failure: CommandError = toCommandError(error);
      if (failure.codeName === "InternalError") {
        this.context.log.error("wire command failed", { command: name, error: failure.message });
      }
      return failure.reply();
    }
  }

  private closed(): void {
    this.abort.abort();
  }
}

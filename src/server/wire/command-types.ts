/** What a wire command handler gets: the connection's state, the server's limits and the control plane. */
import type { Document } from "bson";
import type { ControlPlane } from "../../control/control-plane.ts";
import type { Logger } from "../../runtime/log.ts";
import type { SampleCursors } from "./sample-cursors.ts";
import type { ScramConversation, ScramCredentials } from "./scram.ts";

export interface WireLimits {
  readonly maxMessageBytes: number;
}

export interface ConnectionState {
  readonly connectionId: number;
  readonly peer: string;
  authenticated: boolean;
  /** The SCRAM conversation between `saslStart` and `saslContinue`. */
  scram?: ScramConversation;
}

export interface CommandContext {
  readonly state: ConnectionState;
  readonly limits: WireLimits;
  readonly credentials: ScramCredentials;
  readonly log: Logger;
  readonly plane: ControlPlane;
  /** The Eddy workspace mongosh's `sp` manages. */
  readonly workspace: string;
  readonly cursors: SampleCursors;
  /** Aborted when the connection closes. */
  readonly signal: AbortSignal;
}

export interface CommandSpec {
  /** Allowed before authentication (the handshake and SASL). */
  readonly handshake?: boolean;
  run(command: Document, ctx: CommandContext): Promise<Document>;
}

export type CommandTable = Readonly<Record<string, CommandSpec>>;

/**
 * The commands a connecting mongosh or Node driver sends besides the stream commands: the handshake
 * (`hello`/`isMaster`), SASL authentication and the server-information commands mongosh asks at start-up.
 * Eddy presents itself as a standalone server without databases. Its `hello` carries no topologyVersion,
 * so drivers poll it instead of streaming (exhaust) hellos, which Eddy does not answer.
 */
import { Binary, type Document } from "bson";
import { authenticationFailed, badValue } from "./command-error.ts";
import type { CommandTable, ConnectionState, WireLimits } from "./command-types.ts";
import { SCRAM_MECHANISM, SCRAM_USER, ScramConversation, ScramError } from "./scram.ts";

/** The MongoDB version Eddy reports (what ASP workspaces answer with, a 7.0 server). */
const SERVER_VERSION = "7.0.0";
const MAX_WIRE_VERSION = 21;

export function helloReply(command: Document, state: ConnectionState, limits: WireLimits): Document {
  const legacy = command.isMaster !== undefined || command.ismaster !== undefined;
  const mechanisms =
    command.saslSupportedMechs === `admin.${SCRAM_USER}` ? { saslSupportedMechs: [SCRAM_MECHANISM] } : {};
  return {
    ...(legacy ? { ismaster: true } : { isWritablePrimary: true }),
    helloOk: true,
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: limits.maxMessageBytes,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: state.connectionId,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
    ...mechanisms,
    ok: 1,
  };
}

const saslPayload = (value: unknown): string => {
  if (value instanceof Binary) return Buffer.from(value.buffer).toString("utf8");
  if (typeof value === "string") return value;
  throw badValue("the SASL payload must be binary data");
};

const binary = (text: string): Binary => new Binary(Buffer.from(text, "utf8"));

export const SERVER_COMMANDS: CommandTable = {
  hello: { handshake: true, run: async (command, ctx) => helloReply(command, ctx.state, ctx.limits) },
  isMaster: { handshake: true, run: async (command, ctx) => helloReply(command, ctx.state, ctx.limits) },
  ismaster: { handshake: true, run: async (command, ctx) => helloReply(command, ctx.state, ctx.limits) },
  ping: { handshake: true, run: async () => ({ ok: 1 }) },
  saslStart: {
    handshake: true,
    run: async (command, ctx) => {
      if (command.mechanism !== SCRAM_MECHANISM) {
        throw badValue(`only ${SCRAM_MECHANISM} is supported, not '${String(command.mechanism)}'`);
      }
      const conversation = new ScramConversation(ctx.credentials);
      let serverFirst: string;
      try {
        serverFirst = conversation.start(saslPayload(command.payload));
      } catch (error) {
        if (error instanceof ScramError) throw authenticationFailed();
        throw error;
      }
      ctx.state.scram = conversation;
      return { conversationId: 1, done: false, payload: binary(serverFirst), ok: 1 };
    },
  },
  saslContinue: {
    handshake: true,
    run: async (command, ctx) => {
      const conversation = ctx.state.scram;
      if (ctx.state.authenticated && conversation === undefined) {
        // The empty last step of a client that did not ask to skip it.
        return { conversationId: 1, done: true, payload: binary(""), ok: 1 };
      }
      if (!conversation) throw authenticationFailed();
      ctx.state.scram = undefined;
      let serverFinal: string;
      try {
        serverFinal = conversation.finish(saslPayload(command.payload));
      } catch (error) {
        if (error instanceof ScramError) {
          ctx.log.warn("wire authentication failed", { peer: ctx.state.peer, reason: error.message });
          throw authenticationFailed();
        }
        throw error;
      }
      ctx.state.authenticated = true;
      const skipEmpty = (command.options as Document | undefined)?.skipEmptyExchange === true;
      return { conversationId: 1, done: skipEmpty, payload: binary(serverFinal), ok: 1 };
    },
  },
  buildInfo: { run: async () => buildInfo() },
  buildinfo: { run: async () => buildInfo() },
  getParameter: { run: async (command) => getParameter(command) },
  getLog: {
    run: async (command) =>
      command.getLog === "*"
        ? { names: ["startupWarnings"], ok: 1 }
        : { totalLinesWritten: 0, log: [], ok: 1 },
  },
  getCmdLineOpts: { run: async () => ({ argv: ["sp", "serve"], parsed: {}, ok: 1 }) },
  hostInfo: {
    run: async () => ({
      system: { currentTime: new Date(), hostname: "eddy" },
      os: { type: process.platform },
      extra: {},
      ok: 1,
    }),
  },
  connectionStatus: {
    run: async (_command, ctx) => ({
      authInfo: {
        authenticatedUsers: ctx.state.authenticated ? [{ user: SCRAM_USER, db: "admin" }] : [],
        authenticatedUserRoles: [],
      },
      ok: 1,
    }),
  },
  whatsmyuri: { run: async (_command, ctx) => ({ you: ctx.state.peer, ok: 1 }) },
  endSessions: { run: async () => ({ ok: 1 }) },
  listDatabases: { run: async () => ({ databases: [], totalSize: 0, ok: 1 }) },
};

function buildInfo(): Document {
  return {
    version: SERVER_VERSION,
    gitVersion: "eddy",
    versionArray: SERVER_VERSION.split(".").map(Number).concat(0),
    modules: [],
    bits: 64,
    maxBsonObjectSize: 16 * 1024 * 1024,
    storageEngines: [],
    ok: 1,
  };
}

/** `featureCompatibilityVersion` is what mongosh asks; other parameters are not kept. */
function getParameter(command: Document): Document {
  if (command.featureCompatibilityVersion !== undefined || command.getParameter === "*") {
    return { featureCompatibilityVersion: { version: SERVER_VERSION.slice(0, 3) }, ok: 1 };
  }
  return { ok: 1 };
}

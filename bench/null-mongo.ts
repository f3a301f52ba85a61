/**
 * A MongoDB wire-protocol endpoint that acknowledges every write without storing it: the "infinitely fast
 * MongoDB" of a benchmark, so that what remains is the cost on Eddy's side (decoding, mapping, the spool,
 * the pipeline, the driver's BSON serialization and the socket). It answers the handshake as a standalone
 * server, `insert`/`update`/`delete` with `{n, ok: 1}` (upserts reported as such), and anything else with
 * `{ok: 1}` (`find`/`aggregate` get an empty cursor). Benchmarks only: it is no stand-in for a database.
 */
import { createServer, type Server, type Socket } from "node:net";
import { BSON, Long, type Document } from "bson";
import { encodeMsg, encodeReply, OP_MSG, OP_QUERY } from "../src/server/wire/frames.ts";

export interface NullMongo {
  readonly uri: string;
  /** Documents the writes to database `db` carried (inserted, updated or upserted), since start. */
  written(db: string): number;
  close(): Promise<void>;
}

export async function startNullMongo(): Promise<NullMongo> {
  const written = new Map<string, number>();
  const count = (command: Document, n: number) => {
    const db = String(command.$db);
    written.set(db, (written.get(db) ?? 0) + n);
  };
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    // Chunks are joined only once a whole message is in: a 10 MB bulk write arrives in many pieces.
    const chunks: Buffer[] = [];
    let buffered = 0;
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      buffered += chunk.length;
      for (;;) {
        if (buffered < 4) return;
        if (chunks[0]!.length < 4) chunks.splice(0, chunks.length, Buffer.concat(chunks));
        const length = chunks[0]!.readInt32LE(0);
        if (buffered < length) return;
        const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        const reply = answer(all.subarray(0, length));
        if (reply) socket.write(reply);
        chunks.splice(0, chunks.length);
        buffered -= length;
        if (buffered > 0) chunks.push(all.subarray(length));
      }
    });
    socket.on("error", () => socket.destroy());
  });

  function answer(message: Buffer): Buffer | undefined {
    const requestId = message.readInt32LE(4);
    const opCode = message.readInt32LE(12);
    if (opCode === OP_QUERY) {
      let at = 20;
      while (message[at] !== 0) at++; // fullCollectionName
      at += 1 + 8;
      const query = BSON.deserialize(message.subarray(at, at + message.readInt32LE(at)));
      return encodeReply(requestId + 1_000_000, requestId, reply(query, 0));
    }
    if (opCode !== OP_MSG) return undefined;
    let at = 20; // header (16) + flagBits (4)
    let command: Document = {};
    let documents = 0;
    const end = message.readUInt32LE(16) & 1 ? message.length - 4 : message.length;
    while (at < end) {
      const kind = message[at++];
      if (kind === 0) {
        const size = message.readInt32LE(at);
        command = BSON.deserialize(message.subarray(at, at + size), { promoteValues: false });
        at += size;
      } else {
        const size = message.readInt32LE(at);
        const sectionEnd = at + size;
        at += 4;
        while (message[at] !== 0) at++; // the sequence's identifier, NUL-terminated
        at++;
        while (at < sectionEnd) {
          documents++;
          at += message.readInt32LE(at);
        }
        at = sectionEnd;
      }
    }
    return encodeMsg(requestId + 1_000_000, requestId, reply(command, documents));
  }

  function reply(command: Document, sequenced: number): Document {
    const name = Object.keys(command)[0] ?? "";
    if (name === "hello" || name.toLowerCase() === "ismaster")
      return {
        helloOk: true,
        isWritablePrimary: true,
        ismaster: true,
        maxBsonObjectSize: 16 * 1024 * 1024,
        maxMessageSizeBytes: 48_000_000,
        maxWriteBatchSize: 100_000,
        localTime: new Date(),
        logicalSessionTimeoutMinutes: 30,
        connectionId: 1,
        minWireVersion: 0,
        maxWireVersion: 21,
        readOnly: false,
        ok: 1,
      };
    if (name === "insert" || name === "delete") {
      const n = sequenced + (Array.isArray(command.documents) ? command.documents.length : 0);
      count(command, n);
      return { n, ok: 1 };
    }
    if (name === "update") {
      const n = sequenced + (Array.isArray(command.updates) ? command.updates.length : 0);
      count(command, n);
      return {
        n,
        nModified: 0,
        upserted: Array.from({ length: n }, (_, index) => ({ index, _id: index })),
        ok: 1,
      };
    }
    if (name === "find" || name === "aggregate")
      return { cursor: { id: Long.ZERO, ns: `${String(command.$db)}.x`, firstBatch: [] }, ok: 1 };
    return { ok: 1 };
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    uri: `mongodb://127.0.0.1:${port}/?directConnection=true`,
    written: (db) => written.get(db) ?? 0,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

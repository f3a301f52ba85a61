// Bad input on the wire-protocol listener: garbage, oversized and malformed frames, unauthenticated and
// unknown commands, a wrong password. Each bad client loses only its own connection; the next one is served.
import { connect, type Socket } from "node:net";
import { BSON, type Document } from "bson";
import { MongoClient, MongoServerError } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, TOKEN, type TestServer } from "../helpers.ts";

const MAX_MESSAGE_BYTES = 64 * 1024;
let server: TestServer;
let wire: URL;

beforeAll(async () => {
  server = await startTestServer({ wirePort: 0, maxMessageBytes: MAX_MESSAGE_BYTES });
  wire = new URL(server.wireUrl!);
}, 30_000);

afterAll(async () => {
  await server?.close();
});

function uri(password = TOKEN): string {
  return `mongodb://eddy:${encodeURIComponent(password)}@${wire.host}/?serverSelectionTimeoutMS=5000`;
}

/** A well-behaved client still gets answers. */
async function stillServes(): Promise<void> {
  const client = new MongoClient(uri());
  try {
    const reply = await client.db("admin").command({ listStreamProcessors: 1 });
    expect(reply).toMatchObject({ ok: 1, streamProcessors: [] });
  } finally {
    await client.close();
  }
}

interface RawConnection {
  send(bytes: Buffer): void;
  /** The next whole reply frame, or "closed" when the server closes the connection first. */
  reply(): Promise<Buffer | "closed">;
  end(): void;
}

async function raw(): Promise<RawConnection> {
  const socket: Socket = connect(Number(wire.port), wire.hostname);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  let buffered = Buffer.alloc(0);
  let closed = false;
  const waiters: Array<() => void> = [];
  const wake = (): void => waiters.splice(0).forEach((w) => w());
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    wake();
  });
  socket.on("close", () => {
    closed = true;
    wake();
  });
  socket.on("error", () => undefined);
  return {
    send: (bytes) => socket.write(bytes),
    async reply() {
      for (;;) {
        if (buffered.length >= 4 && buffered.length >= buffered.readInt32LE(0)) {
          const frame = buffered.subarray(0, buffered.readInt32LE(0));
          buffered = buffered.subarray(frame.length);
          return frame;
        }
        if (closed) return "closed";
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    end: () => socket.destroy(),
  };
}

function opMsg(command: Document, requestId = 1): Buffer {
  const body = BSON.serialize(command);
  const header = Buffer.alloc(21);
  header.writeInt32LE(21 + body.length, 0);
  header.writeInt32LE(requestId, 4);
  header.writeInt32LE(0, 8);
  header.writeInt32LE(2013, 12);
  return Buffer.concat([header, body]);
}

function opQuery(command: Document): Buffer {
  const name = Buffer.from("admin.$cmd\0");
  const body = BSON.serialize(command);
  const header = Buffer.alloc(20);
  header.writeInt32LE(20 + name.length + 8 + body.length, 0);
  header.writeInt32LE(7, 4);
  header.writeInt32LE(2004, 12);
  const skipReturn = Buffer.alloc(8);
  skipReturn.writeInt32LE(-1, 4);
  return Buffer.concat([header, name, skipReturn, body]);
}

/** The document of an OP_MSG reply. */
function msgBody(frame: Buffer | "closed"): Document {
  if (frame === "closed") throw new Error("the server closed the connection");
  expect(frame.readInt32LE(12)).toBe(2013);
  return BSON.deserialize(frame.subarray(21));
}

describe("the wire-protocol listener under bad input", () => {
  it("answers the legacy OP_QUERY isMaster with an OP_REPLY, and an OP_MSG hello", async () => {
    const connection = await raw();
    connection.send(opQuery({ isMaster: 1 }));
    const frame = await connection.reply();
    if (frame === "closed") throw new Error("closed");
    expect(frame.readInt32LE(8)).toBe(7);
    expect(frame.readInt32LE(12)).toBe(1);
    expect(BSON.deserialize(frame.subarray(36))).toMatchObject({ ismaster: true, ok: 1 });
    connection.send(opMsg({ hello: 1, saslSupportedMechs: "admin.eddy", $db: "admin" }));
    expect(msgBody(await connection.reply())).toMatchObject({
      isWritablePrimary: true,
      saslSupportedMechs: ["SCRAM-SHA-256"],
      maxMessageSizeBytes: MAX_MESSAGE_BYTES,
      ok: 1,
    });
    connection.end();
  });

  it("refuses stream commands before authentication, with MongoDB's Unauthorized error", async () => {
    const connection = await raw();
    connection.send(opMsg({ listStreamProcessors: 1, $db: "admin" }));
    expect(msgBody(await connection.reply())).toMatchObject({ ok: 0, code: 13, codeName: "Unauthorized" });
    connection.end();
  });

  it("closes the connection on garbage bytes", async () => {
    const connection = await raw();
    connection.send(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    expect(await connection.reply()).toBe("closed");
    await stillServes();
  });

  it("closes the connection on a frame longer than maxMessageSizeBytes, before reading it", async () => {
    const connection = await raw();
    const header = Buffer.alloc(16);
    header.writeInt32LE(MAX_MESSAGE_BYTES + 1, 0);
    header.writeInt32LE(2013, 12);
    connection.send(header);
    expect(await connection.reply()).toBe("closed");
    await stillServes();
  });

  it("closes the connection on malformed BSON and on an unknown op code", async () => {
    const bad = opMsg({ ping: 1, $db: "admin" });
    bad.writeInt32LE(9999, 21); // the body's own length no longer fits the frame
    const first = await raw();
    first.send(bad);
    expect(await first.reply()).toBe("closed");
    const compressed = opMsg({ ping: 1 });
    compressed.writeInt32LE(2012, 12); // OP_COMPRESSED, never negotiated
    const second = await raw();
    second.send(compressed);
    expect(await second.reply()).toBe("closed");
    await stillServes();
  });

  it("reassembles frames split across packets and answers pipelined ones in order", async () => {
    const connection = await raw();
    const both = Buffer.concat([opMsg({ ping: 1, $db: "admin" }, 11), opMsg({ hello: 1, $db: "admin" }, 12)]);
    for (let i = 0; i < both.length; i += 7) connection.send(both.subarray(i, i + 7));
    const first = await connection.reply();
    const second = await connection.reply();
    if (first === "closed" || second === "closed") throw new Error("closed");
    expect([first.readInt32LE(8), second.readInt32LE(8)]).toEqual([11, 12]);
    connection.end();
  });

  it("answers a hundred pipelined requests in order (reading pauses while they queue)", async () => {
    const connection = await raw();
    const ids = Array.from({ length: 100 }, (_, i) => 1000 + i);
    connection.send(Buffer.concat(ids.map((id) => opMsg({ ping: 1, $db: "admin" }, id))));
    const answered: number[] = [];
    for (const _ of ids) {
      const frame = await connection.reply();
      if (frame === "closed") throw new Error("closed");
      answered.push(frame.readInt32LE(8));
    }
    expect(answered).toEqual(ids);
    connection.end();
  });

  it("answers an unknown command with CommandNotFound (59)", async () => {
    const client = new MongoClient(uri());
    try {
      const failure = await client
        .db("admin")
        .command({ frobnicate: 1 })
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(MongoServerError);
      expect(failure).toMatchObject({ code: 59, codeName: "CommandNotFound" });
    } finally {
      await client.close();
    }
  });

  it("refuses a wrong password with AuthenticationFailed (18), then serves the right one", async () => {
    const client = new MongoClient(uri("wrong-password"));
    await expect(client.connect()).rejects.toMatchObject({ code: 18, codeName: "AuthenticationFailed" });
    await client.close();
    await stillServes();
  });

  it("pages a sample cursor of sp.process() until cursor id 0", async () => {
    const client = new MongoClient(uri());
    try {
      const admin = client.db("admin");
      const started = await admin.command({
        processStreamProcessor: [{ $source: { documents: [{ n: 1 }, { n: 2 }, { n: 3 }] } }],
      });
      expect(started).toMatchObject({ ok: 1, name: expect.stringMatching(/^process-/) });
      const seen: unknown[] = [];
      let cursorId: unknown = started.cursorId;
      while (String(cursorId) !== "0") {
        const page = await admin.command(
          { getMoreSampleStreamProcessor: started.name, cursorId },
          { promoteLongs: false },
        );
        seen.push(...page.messages.map((doc: Document) => doc.n));
        cursorId = page.cursorId;
        expect(page.cursorId._bsontype).toBe("Long"); // int64, as ASP sends it
      }
      expect(seen).toEqual([1, 2, 3]);
      await admin.command({ dropStreamProcessor: started.name });
    } finally {
      await client.close();
    }
  });
});

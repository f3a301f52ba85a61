/**
 * MongoDB wire-protocol framing: the 16-byte header, OP_MSG and legacy OP_QUERY requests, and the OP_MSG /
 * OP_REPLY answers. Every frame is bounded by `maxMessageBytes`; anything malformed is a FrameError, on which
 * the connection (only that one) is closed.
 */
import { deserialize, serialize, type Document } from "bson";

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_MSG = 2013;
const HEADER_BYTES = 16;
/** The smallest valid BSON document: its length and the terminating zero. */
const MIN_DOCUMENT_BYTES = 5;
const CHECKSUM_PRESENT = 1 << 0;
const MORE_TO_COME = 1 << 1;

export class FrameError extends Error {
  override readonly name = "FrameError";
}

/** One client request: its command document (OP_MSG document sequences merged in as arrays). */
export interface WireRequest {
  readonly opCode: typeof OP_MSG | typeof OP_QUERY;
  readonly requestId: number;
  readonly command: Document;
  /** OP_QUERY's `<db>.$cmd`; OP_MSG names its database in `$db`. */
  readonly database: string;
  /** OP_MSG's moreToCome: the client expects no reply. */
  readonly noReply: boolean;
}

/** Collects socket chunks and cuts them into whole frames. */
export class FrameReader {
  private readonly maxMessageBytes: number;
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(maxMessageBytes: number) {
    this.maxMessageBytes = maxMessageBytes;
  }

  /** Adds a chunk and returns every frame it completed; throws FrameError on an impossible length. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    while (this.buffered >= 4) {
      const head = this.chunks.length === 1 ? this.chunks[0] : this.flatten();
      const length = head.readInt32LE(0);
      if (length < HEADER_BYTES || length > this.maxMessageBytes) {
        throw new FrameError(
          `message length ${length} is outside ${HEADER_BYTES}..${this.maxMessageBytes} (maxMessageSizeBytes)`,
        );
      }
      if (this.buffered < length) break;
      const all = this.flatten();
      frames.push(all.subarray(0, length));
      const rest = all.subarray(length);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
    }
    return frames;
  }

  private flatten(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0];
  }
}

/** Parses one whole frame; other op codes and malformed bodies are FrameErrors. */
export function parseRequest(frame: Buffer): WireRequest {
  const requestId = frame.readInt32LE(4);
  const opCode = frame.readInt32LE(12);
  if (opCode === OP_MSG) return parseMsg(frame, requestId);
  if (opCode === OP_QUERY) return parseQuery(frame, requestId);
  throw new FrameError(`unsupported op code ${opCode}; send OP_MSG (or OP_QUERY for the legacy hello)`);
}

function parseMsg(frame: Buffer, requestId: number): WireRequest {
  const flags = frame.readUInt32LE(HEADER_BYTES);
  const end = flags & CHECKSUM_PRESENT ? frame.length - 4 : frame.length;
  let offset = HEADER_BYTES + 4;
  let body: Document | undefined;
  const sequences: Record<string, Document[]> = {};
  while (offset < end) {
    const kind = frame[offset++];
    if (kind === 0) {
      if (body) throw new FrameError("OP_MSG has more than one body section");
      const length = documentLength(frame, offset, end);
      body = readDocument(frame, offset, length);
      offset += length;
    } else if (kind === 1) {
      const size = documentLength(frame, offset, end);
      const sectionEnd = offset + size;
      const nameEnd = frame.indexOf(0, offset + 4);
      if (nameEnd < 0 || nameEnd >= sectionEnd) throw new FrameError("OP_MSG document sequence has no name");
      const name = frame.toString("utf8", offset + 4, nameEnd);
      const docs: Document[] = [];
      for (let at = nameEnd + 1; at < sectionEnd;) {
        const length = documentLength(frame, at, sectionEnd);
        docs.push(readDocument(frame, at, length));
        at += length;
      }
      sequences[name] = docs;
      offset = sectionEnd;
    } else {
      throw new FrameError(`OP_MSG section kind ${kind} is not 0 or 1`);
    }
  }
  if (!body) throw new FrameError("OP_MSG has no body section");
  const command = { ...body, ...sequences };
  const database = typeof command.$db === "string" ? command.$db : "admin";
  return { opCode: OP_MSG, requestId, command, database, noReply: (flags & MORE_TO_COME) !== 0 };
}

function parseQuery(frame: Buffer, requestId: number): WireRequest {
  const nameStart = HEADER_BYTES + 4;
  const nameEnd = frame.indexOf(0, nameStart);
  if (nameEnd < 0) throw new FrameError("OP_QUERY has no collection name");
  const collection = frame.toString("utf8", nameStart, nameEnd);
  const offset = nameEnd + 1 + 8; // numberToSkip, numberToReturn
  const length = documentLength(frame, offset, frame.length);
  const query = readDocument(frame, offset, length);
  const dot = collection.indexOf(".");
  if (dot < 0 || collection.slice(dot + 1) !== "$cmd") {
    throw new FrameError(`OP_QUERY is only for commands (<db>.$cmd), not '${collection}'`);
  }
  // Commands sent through a legacy driver may come wrapped as {$query: {...}, $readPreference}.
  const command = isDocument(query.$query) ? query.$query : query;
  return { opCode: OP_QUERY, requestId, command, database: collection.slice(0, dot), noReply: false };
}

function documentLength(frame: Buffer, offset: number, end: number): number {
  if (offset + 4 > end) throw new FrameError("a BSON document runs past the end of the message");
  const length = frame.readInt32LE(offset);
  if (length < MIN_DOCUMENT_BYTES || offset + length > end) {
    throw new FrameError(`a BSON document's length ${length} does not fit the message`);
  }
  return length;
}

function readDocument(frame: Buffer, offset: number, length: number): Document {
  try {
    return deserialize(frame.subarray(offset, offset + length), { validation: { utf8: true } });
  } catch (error) {
    throw new FrameError(`malformed BSON: ${(error as Error).message}`);
  }
}

function isDocument(value: unknown): value is Document {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An OP_MSG answer with one body section. */
export function encodeMsg(requestId: number, responseTo: number, reply: Document): Buffer {
  const body = serialize(reply);
  const header = answerHeader(5, body.length, requestId, responseTo, OP_MSG);
  header.writeUInt32LE(0, 16); // flagBits
  header[20] = 0; // section kind: body
  return Buffer.concat([header, body]);
}

/** An OP_REPLY answer (to OP_QUERY) carrying one document. */
export function encodeReply(requestId: number, responseTo: number, reply: Document): Buffer {
  const body = serialize(reply);
  const header = answerHeader(20, body.length, requestId, responseTo, OP_REPLY);
  header.writeInt32LE(0, 16); // responseFlags
  header.writeBigInt64LE(0n, 20); // cursorID
  header.writeInt32LE(0, 28); // startingFrom
  header.writeInt32LE(1, 32); // numberReturned
  return Buffer.concat([header, body]);
}

/** The message header plus `extra` bytes of op-specific fields, for an answer whose body is `bodyBytes` long. */
function answerHeader(
  extra: number,
  bodyBytes: number,
  requestId: number,
  responseTo: number,
  opCode: number,
): Buffer {
  const header = Buffer.alloc(HEADER_BYTES + extra);
  header.writeInt32LE(header.length + bodyBytes, 0);
  header.writeInt32LE(requestId, 4);
  header.writeInt32LE(responseTo, 8);
  header.writeInt32LE(opCode, 12);
  return header;
}

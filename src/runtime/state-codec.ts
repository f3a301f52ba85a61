/**
 * Turns operator state (window contents, accumulator states, watermarks) into a document that survives both
 * ways Eddy stores checkpoints unchanged: canonical Extended JSON text (`EJSON.stringify(x, {relaxed:
 * false})`, the file and MongoDB state stores) and BSON (`serialize`/`deserialize` with default options).
 *
 * What needs help, and why:
 * - BSON promotes Int32, Double and small Longs to JS numbers; canonical EJSON reads JS numbers back as
 *   Int32, Double or (integers beyond int32) Long. So JS numbers are stored raw and every number-like value
 *   read back is a JS number, while real `Int32`/`Double`/`Long` values and bigints are tagged.
 * - Maps, Sets, `undefined`, invalid Dates, JS RegExps, BSONRegExp, symbols, Code, DBRef, Binary/UUID and
 *   byte arrays change class (or vanish) in one of the two formats, so they are tagged.
 * - A user document's keys starting with `$` (EJSON reads `{$date: …}`, `{$ref, $id}` as types), containing
 *   `.` or NUL (MongoDB/BSON field names), `__proto__`, ill-formed UTF-16, or the tag key itself make the
 *   object be stored as a list of key/value pairs.
 * - ObjectId, Decimal128, Timestamp, MinKey, MaxKey, valid Dates, strings, booleans, null, NaN, ±Infinity and
 *   -0 survive both formats as they are.
 *
 * A tagged value is `{"~": <tag>, v: <payload>, …}`; `~` never appears as a key of an encoded plain object.
 */
import { Binary, BSONRegExp, BSONSymbol, Code, DBRef, Double, Int32, Long, UUID, type ObjectId } from "bson";
import type { Doc } from "../mql/index.ts";

const TAG = "~";
const FORMAT = 1;

/** Raised for values the codec cannot store (functions, symbols, class instances it does not know). */
export class StateCodecError extends Error {
  override readonly name = "StateCodecError";
}

/** Encodes `value` into a document that round-trips through canonical EJSON text and BSON. */
export function encodeState(value: unknown): Doc {
  return { format: FORMAT, value: encode(value) };
}

/** The inverse of {@link encodeState}, after either storage round trip (or none). */
export function decodeState(doc: Doc): unknown {
  const format = plainNumber(doc.format);
  if (format !== FORMAT)
    throw new StateCodecError(
      `unsupported operator state format ${String(doc.format)} (this Eddy reads format ${FORMAT}); ` +
        "start the processor with resumeFromCheckpoint: false to discard the old state",
    );
  return decode(doc.value);
}

function tagged(tag: string, payload: unknown, extra?: Doc): Doc {
  return extra ? { [TAG]: tag, v: payload, ...extra } : { [TAG]: tag, v: payload };
}

function encode(value: unknown): unknown {
  switch (typeof value) {
    case "number":
    case "boolean":
      return value;
    case "string":
      return value.isWellFormed() ? value : tagged("utf16", utf16Units(value));
    case "undefined":
      return tagged("undefined", null);
    case "bigint":
      return tagged("bigint", value.toString());
    case "object":
      if (value === null) return null;
      return encodeObject(value);
    default:
      throw new StateCodecError(`cannot store a ${typeof value} in operator state`);
  }
}

function encodeObject(value: object): unknown {
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = encode(value[i]);
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype) return encodePlain(value as Doc);
  if (proto === null) return encodePairs(value as Doc, true);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? tagged("date", "invalid") : value;
  if (value instanceof Map) {
    const out: unknown[] = [];
    for (const [k, v] of value) out.push(encode(k), encode(v));
    return tagged("map", out);
  }
  if (value instanceof Set) {
    const out: unknown[] = [];
    for (const v of value) out.push(encode(v));
    return tagged("set", out);
  }
  if (value instanceof RegExp) return tagged("regexp", encode(value.source), { flags: value.flags });
  if (value instanceof Uint8Array)
    return tagged("bytes", Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64"), {
      buffer: Buffer.isBuffer(value),
    });
  return encodeBson(value);
}

function encodeBson(value: object): unknown {
  const bsonType = (value as { _bsontype?: unknown })._bsontype;
  switch (bsonType) {
    case "ObjectId":
    case "Decimal128":
    case "Timestamp":
    case "MinKey":
    case "MaxKey":
      return value;
    case "Long": {
      const long = value as Long;
      return tagged("long", long.toString(), long.unsigned ? { unsigned: true } : undefined);
    }
    case "Int32":
      return tagged("int32", (value as Int32).value);
    case "Double":
      return tagged("double", (value as Double).value);
    case "Binary": {
      const binary = value as Binary;
      return tagged("binary", binary.toString("base64"), {
        subtype: binary.sub_type,
        uuid: value instanceof UUID,
      });
    }
    case "BSONRegExp": {
      const regexp = value as BSONRegExp;
      return tagged("bsonRegExp", encode(regexp.pattern), { options: regexp.options });
    }
    case "BSONSymbol":
      return tagged("symbol", encode(String((value as BSONSymbol).valueOf())));
    case "Code": {
      const code = value as Code;
      return tagged("code", encode(code.code), code.scope ? { scope: encode(code.scope) } : undefined);
    }
    case "DBRef": {
      const ref = value as DBRef;
      return tagged("dbRef", encode(ref.collection), {
        oid: encode(ref.oid),
        db: ref.db ?? null,
        fields: encode(ref.fields),
      });
    }
    default: {
      const name = (value.constructor as { name?: string } | undefined)?.name ?? "unknown class";
      throw new StateCodecError(`cannot store an instance of ${name} in operator state`);
    }
  }
}

function encodePlain(doc: Doc): unknown {
  const keys = Object.keys(doc);
  for (const key of keys) if (!isSafeKey(key)) return encodePairs(doc, false);
  const out: Doc = {};
  for (const key of keys) out[key] = encode(doc[key]);
  return out;
}

/** An object as `[key, value, key, value…]`: for keys storage would misread, and null-prototype objects. */
function encodePairs(doc: Doc, nullPrototype: boolean): Doc {
  const keys = Object.keys(doc);
  const pairs = new Array<unknown>(keys.length * 2);
  for (let i = 0; i < keys.length; i++) {
    pairs[2 * i] = encode(keys[i]);
    pairs[2 * i + 1] = encode(doc[keys[i]]);
  }
  return tagged("object", pairs, nullPrototype ? { nullPrototype: true } : undefined);
}

function isSafeKey(key: string): boolean {
  return (
    key !== TAG &&
    key !== "__proto__" &&
    key.charCodeAt(0) !== 36 /* $ */ &&
    !key.includes(".") &&
    !key.includes("\0") &&
    key.isWellFormed()
  );
}

function utf16Units(text: string): number[] {
  const units = new Array<number>(text.length);
  for (let i = 0; i < text.length; i++) units[i] = text.charCodeAt(i);
  return units;
}

/** A number read back from storage: JS number, or the Int32/Double/Long canonical EJSON makes of one. */
function plainNumber(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value !== "object" || value === null) return undefined;
  // By `_bsontype`, not instanceof: a Timestamp is a Long subclass.
  switch ((value as { _bsontype?: unknown })._bsontype) {
    case "Int32":
    case "Double":
      return (value as Int32 | Double).value;
    case "Long":
      return (value as Long).toNumber();
    default:
      return undefined;
  }
}

function decode(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = decode(value[i]);
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    const doc = value as Doc;
    if (TAG in doc) return decodeTagged(doc);
    const out: Doc = {};
    for (const key of Object.keys(doc)) out[key] = decode(doc[key]);
    return out;
  }
  const number = plainNumber(value);
  return number === undefined ? value : number;
}

function decodeTagged(doc: Doc): unknown {
  const payload = doc.v;
  switch (doc[TAG]) {
    case "undefined":
      return undefined;
    case "utf16": {
      let text = "";
      for (const unit of payload as unknown[]) text += String.fromCharCode(plainNumber(unit) ?? 0);
      return text;
    }
    case "bigint":
      return BigInt(payload as string);
    case "date":
      return new Date(NaN);
    case "map": {
      const pairs = payload as unknown[];
      const map = new Map<unknown, unknown>();
      for (let i = 0; i < pairs.length; i += 2) map.set(decode(pairs[i]), decode(pairs[i + 1]));
      return map;
    }
    case "set":
      return new Set((payload as unknown[]).map(decode));
    case "object": {
      const pairs = payload as unknown[];
      const out: Doc = doc.nullPrototype === true ? (Object.create(null) as Doc) : {};
      for (let i = 0; i < pairs.length; i += 2) {
        Object.defineProperty(out, decode(pairs[i]) as string, {
          value: decode(pairs[i + 1]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    case "regexp":
      return new RegExp(decode(payload) as string, doc.flags as string);
    case "bytes": {
      const bytes = Buffer.from(payload as string, "base64");
      return doc.buffer === true ? bytes : new Uint8Array(bytes);
    }
    case "long":
      return Long.fromString(payload as string, doc.unsigned === true);
    case "int32":
      return new Int32(plainNumber(payload) ?? NaN);
    case "double":
      return new Double(plainNumber(payload) ?? NaN);
    case "binary": {
      const bytes = Buffer.from(payload as string, "base64");
      return doc.uuid === true ? new UUID(bytes) : new Binary(bytes, plainNumber(doc.subtype));
    }
    case "bsonRegExp":
      return new BSONRegExp(decode(payload) as string, doc.options as string);
    case "symbol":
      return new BSONSymbol(decode(payload) as string);
    case "code":
      return new Code(decode(payload) as string, "scope" in doc ? (decode(doc.scope) as Doc) : undefined);
    case "dbRef":
      return new DBRef(
        decode(payload) as string,
        decode(doc.oid) as ObjectId,
        doc.db === null ? undefined : (doc.db as string),
        decode(doc.fields) as Doc,
      );
    default:
      throw new StateCodecError(`unknown operator state tag ${JSON.stringify(doc[TAG])}`);
  }
}

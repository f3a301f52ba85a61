/**
 * Eddy's Extended JSON writer, straight into a `ByteBuffer`: the `$emit` hot path encodes a whole batch
 * back to back into one buffer, and `stringifyExtendedJson` decodes one document's bytes. Plain JSON values
 * and dates are written byte by byte; the rare cases (strings needing escapes, non-integer numbers, `bson`
 * values, canonical output) append the text of ejson-text.ts.
 */
import type { ByteBuffer } from "./byte-buffer.ts";
import {
  canonicalExtendedJson,
  MAX_RELAXED_DATE,
  PLAIN_STRING,
  quoteKey,
  writeBsonValue,
  writeDate,
  writeDouble,
  writeRegex,
  type StringifyOptions,
} from "./ejson-text.ts";
import { bsonTag } from "../mql/bson-types.ts";

const QUOTE = 0x22;
const COMMA = 0x2c;
const MINUS = 0x2d;
const ZERO = 0x30;
const COLON = 0x3a;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

const NULL = Buffer.from("null");
const TRUE = Buffer.from("true");
const FALSE = Buffer.from("false");

/** Appends `value` as one line of Extended JSON (relaxed unless `options.outputFormat` is canonical). */
export function writeExtendedJson(out: ByteBuffer, value: unknown, options?: StringifyOptions): void {
  if (options?.outputFormat === "canonicalJson") {
    out.utf8(canonicalExtendedJson(value, options.dateFormat === "ISO8601"));
    return;
  }
  // Plain JSON (most documents read from JSON Lines or Kafka): V8's native JSON.stringify writes the same
  // text as the byte writer below, several times faster.
  if (isPlainJson(value, 0) && isPlainObjectValue(value)) {
    out.utf8(JSON.stringify(value));
    return;
  }
  const start = out.position;
  try {
    writeValue(out, value, options?.dateFormat === "ISO8601");
  } catch (error) {
    // A document that cannot be written (a cycle, an unknown `bson` value) leaves nothing in the batch.
    out.position = start;
    throw error;
  }
}

/** Deeper than this, the byte writer is used (JSON.stringify's recursion is not the limit: this walk's is). */
const MAX_PLAIN_DEPTH = 64;

function isPlainObjectValue(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * True when `JSON.stringify(value)` is exactly what the relaxed writer writes: strings, finite numbers
 * other than -0, booleans, null, and arrays and objects (with Object's prototype: no Date, RegExp or `bson`
 * value) of those; `undefined` is skipped in objects and written as null in arrays by both.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
    case "undefined":
      return true;
    case "number":
      return Number.isFinite(value) && (value !== 0 || 1 / value > 0);
    case "object":
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth >= MAX_PLAIN_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isPlainJson(value[i], depth + 1)) return false;
    return true;
  }
  // An object carrying `_bsontype` is a `bson` value to the byte writer, never plain.
  if (!isPlainObjectValue(value) || bsonTag(value) !== undefined) return false;
  for (const key in value) if (!isPlainJson(value[key], depth + 1)) return false;
  return true;
}

function writeValue(out: ByteBuffer, value: unknown, isoDates: boolean): void {
  switch (typeof value) {
    case "string":
      return writeString(out, value);
    case "number":
      return writeNumber(out, value);
    case "boolean":
      return out.append(value ? TRUE : FALSE);
    case "bigint":
      return out.ascii(value.toString());
    case "object":
      break;
    default:
      return out.append(NULL);
  }
  if (value === null) return out.append(NULL);
  if (Array.isArray(value)) return writeArray(out, value, isoDates);
  if (value instanceof Date) return writeDateBytes(out, value, isoDates);
  if (value instanceof RegExp) return out.utf8(writeRegex(value.source, value.flags));
  const tag = bsonTag(value);
  if (tag !== undefined && tag !== "DBRef") return out.utf8(writeBsonValue(value, tag));
  writeObject(out, value as Record<string, unknown>, isoDates);
}

function writeObject(out: ByteBuffer, obj: Record<string, unknown>, isoDates: boolean): void {
  punctuation(out, OPEN_BRACE);
  let first = true;
  for (const key in obj) {
    const v = obj[key];
    if (v === undefined) continue;
    writeKey(out, key, first);
    first = false;
    // Strings and numbers skip the recursive writeValue, so V8 inlines the per-field work into this loop.
    if (typeof v === "string") writeString(out, v);
    else if (typeof v === "number") writeNumber(out, v);
    else writeValue(out, v, isoDates);
  }
  punctuation(out, CLOSE_BRACE);
}

function writeArray(out: ByteBuffer, array: readonly unknown[], isoDates: boolean): void {
  punctuation(out, OPEN_BRACKET);
  for (let i = 0; i < array.length; i++) {
    if (i > 0) punctuation(out, COMMA);
    writeValue(out, array[i], isoDates);
  }
  punctuation(out, CLOSE_BRACKET);
}

function punctuation(out: ByteBuffer, byte: number): void {
  out.ensure(1);
  out.bytes[out.position++] = byte;
}

/** Writes `,"key":` (no comma before the first field). */
function writeKey(out: ByteBuffer, key: string, first: boolean): void {
  out.ensure(key.length + 4);
  const bytes = out.bytes;
  let p = out.position;
  if (!first) bytes[p++] = COMMA;
  bytes[p++] = QUOTE;
  p = copyPlainAscii(bytes, p, key);
  if (p < 0) {
    if (!first) punctuation(out, COMMA);
    out.utf8(quoteKey(key));
    return;
  }
  bytes[p++] = QUOTE;
  bytes[p++] = COLON;
  out.position = p;
}

function writeString(out: ByteBuffer, value: string): void {
  out.ensure(value.length + 2);
  const bytes = out.bytes;
  const start = out.position;
  let p = copyPlainAscii(bytes, start + 1, value);
  if (p < 0) {
    out.utf8(JSON.stringify(value));
    return;
  }
  bytes[start] = QUOTE;
  bytes[p++] = QUOTE;
  out.position = p;
}

// Past this length one regex test plus one native copy beats the char loop.
const LONG_STRING = 24;

/**
 * Copies `text` to `bytes` at `p` (room ensured) if it is printable ASCII without `"` and `\\`, i.e. needs
 * no escaping, and returns the end; returns -1 otherwise, with `bytes` partly overwritten after `p`.
 */
function copyPlainAscii(bytes: Buffer, p: number, text: string): number {
  const n = text.length;
  if (n > LONG_STRING) return PLAIN_STRING.test(text) ? p + bytes.write(text, p, "latin1") : -1;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) return -1;
    bytes[p++] = c;
  }
  return p;
}

function writeNumber(out: ByteBuffer, n: number): void {
  if (Number.isSafeInteger(n) && (n !== 0 || 1 / n > 0)) writeSafeInteger(out, n);
  else out.ascii(writeDouble(n));
}

const POWERS_OF_TEN = Array.from({ length: 16 }, (_, i) => 10 ** i);
const MAX_SAFE_INTEGER_CHARS = 17; // "-9007199254740991"
const INT32_MAX = 0x7fffffff;

/** "00" to "99": two digits per division. */
const DIGIT_PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  DIGIT_PAIRS[2 * i] = ZERO + Math.floor(i / 10);
  DIGIT_PAIRS[2 * i + 1] = ZERO + (i % 10);
}

/** The digits of a safe integer, as `String(n)` writes them, without allocating that string. */
function writeSafeInteger(out: ByteBuffer, n: number): void {
  out.ensure(MAX_SAFE_INTEGER_CHARS);
  const bytes = out.bytes;
  let p = out.position;
  if (n < 0) {
    bytes[p++] = MINUS;
    n = -n;
  }
  if (n < 10) {
    bytes[p] = ZERO + n;
    out.position = p + 1;
    return;
  }
  let digits = 2;
  while (digits < POWERS_OF_TEN.length && n >= POWERS_OF_TEN[digits]) digits++;
  let q = p + digits;
  out.position = q;
  if (n > INT32_MAX) {
    while (q > p) {
      const rest = Math.floor(n / 10);
      bytes[--q] = ZERO + (n - rest * 10);
      n = rest;
    }
    return;
  }
  let m = n | 0;
  while (m >= 100) {
    const rest = (m / 100) | 0;
    q -= 2;
    writePair(bytes, q, m - rest * 100);
    m = rest;
  }
  if (m >= 10) writePair(bytes, q - 2, m);
  else bytes[q - 1] = ZERO + m;
}

const DATE_OPEN = Buffer.from('{"$date":"');
const DATE_CLOSE = Buffer.from('"}');
const ISO_DATE_LENGTH = 24; // 2024-02-03T04:05:06.789Z
const MS_PER_DAY = 86_400_000;
const MAX_DATE_BYTES = 64; // the longest is {"$date":{"$numberLong":"-8640000000000000"}}

// Consecutive documents often carry the same instant (`_ts` of one batch, window bounds): the bytes of the
// last date per date format are kept (in a fixed buffer, so distinct dates allocate nothing).
class LastDate {
  ms = NaN;
  length = 0;
  readonly bytes = Buffer.alloc(MAX_DATE_BYTES);
}
const lastDates = { default: new LastDate(), iso: new LastDate() };

function writeDateBytes(out: ByteBuffer, date: Date, isoDates: boolean): void {
  const last = isoDates ? lastDates.iso : lastDates.default;
  const ms = date.getTime();
  if (ms === last.ms) {
    copyBytes(out, last.bytes, last.length);
    return;
  }
  const start = out.position;
  if (ms >= 0 && ms <= MAX_RELAXED_DATE) writeRelaxedRangeDate(out, ms, isoDates);
  else out.ascii(writeDate(date, isoDates));
  const bytes = out.bytes;
  const n = out.position - start;
  for (let i = 0; i < n; i++) last.bytes[i] = bytes[start + i];
  last.ms = ms;
  last.length = n;
}

/**
 * Dates of years 1970 to 9999 (the range of the relaxed `$date` string) are written digit by digit:
 * `toISOString()` alone costs about as much as the rest of a typical document.
 */
function writeRelaxedRangeDate(out: ByteBuffer, ms: number, isoDates: boolean): void {
  out.ensure(DATE_OPEN.length + ISO_DATE_LENGTH + DATE_CLOSE.length);
  if (isoDates) out.bytes[out.position++] = QUOTE;
  else copyBytes(out, DATE_OPEN, DATE_OPEN.length);
  writeIsoDate(out.bytes, out.position, ms);
  out.position += ISO_DATE_LENGTH;
  if (isoDates) out.bytes[out.position++] = QUOTE;
  else copyBytes(out, DATE_CLOSE, DATE_CLOSE.length);
}

function copyBytes(out: ByteBuffer, source: Uint8Array, n: number): void {
  out.ensure(n);
  const bytes = out.bytes;
  let p = out.position;
  for (let i = 0; i < n; i++) bytes[p++] = source[i];
  out.position = p;
}

/** `new Date(ms).toISOString()` for 0 <= ms <= MAX_RELAXED_DATE, at `p` (room ensured). */
function writeIsoDate(bytes: Buffer, p: number, ms: number): void {
  const days = Math.floor(ms / MS_PER_DAY);
  let rest = ms - days * MS_PER_DAY;
  // Year, month and day from days since 1970-01-01: H. Hinnant's civil_from_days, years counted from March.
  const z = days + 719_468;
  const era = (z / 146_097) | 0;
  const dayOfEra = z - era * 146_097;
  const yearOfEra =
    ((dayOfEra - ((dayOfEra / 1460) | 0) + ((dayOfEra / 36_524) | 0) - ((dayOfEra / 146_096) | 0)) / 365) | 0;
  const dayOfYear = dayOfEra - (365 * yearOfEra + ((yearOfEra / 4) | 0) - ((yearOfEra / 100) | 0));
  const monthFromMarch = ((5 * dayOfYear + 2) / 153) | 0;
  const day = dayOfYear - (((153 * monthFromMarch + 2) / 5) | 0) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hours = (rest / 3_600_000) | 0;
  rest -= hours * 3_600_000;
  const minutes = (rest / 60_000) | 0;
  rest -= minutes * 60_000;
  const seconds = (rest / 1000) | 0;
  const millis = rest - seconds * 1000;

  const century = (year / 100) | 0;
  writePair(bytes, p, century);
  writePair(bytes, p + 2, year - century * 100);
  bytes[p + 4] = MINUS;
  writePair(bytes, p + 5, month);
  bytes[p + 7] = MINUS;
  writePair(bytes, p + 8, day);
  bytes[p + 10] = 0x54; // T
  writePair(bytes, p + 11, hours);
  bytes[p + 13] = COLON;
  writePair(bytes, p + 14, minutes);
  bytes[p + 16] = COLON;
  writePair(bytes, p + 17, seconds);
  bytes[p + 19] = 0x2e; // .
  const hundreds = (millis / 100) | 0;
  bytes[p + 20] = ZERO + hundreds;
  writePair(bytes, p + 21, millis - hundreds * 100);
  bytes[p + 23] = 0x5a; // Z
}

/** Writes 0 <= n < 100 as two digits. */
function writePair(bytes: Buffer, p: number, n: number): void {
  bytes[p] = DIGIT_PAIRS[n << 1];
  bytes[p + 1] = DIGIT_PAIRS[(n << 1) + 1];
}

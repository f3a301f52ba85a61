import { Binary } from "bson";
import { conversionFailure } from "./failure.ts";

/** ASP's `$convert` extensions between binData and numbers/strings (Kafka header values). */
export type ByteOrder = "little" | "big";
export type BinaryFormat = "base64" | "base64url" | "hex" | "uuid" | "utf8";

export const BYTE_ORDERS: readonly ByteOrder[] = ["little", "big"];
export const BINARY_FORMATS: readonly BinaryFormat[] = ["base64", "base64url", "hex", "uuid", "utf8"];

export const UUID_SUBTYPE = 4;

function bytesOf(bin: Binary): Uint8Array {
  return bin.buffer.subarray(0, bin.position);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function wrongWidth(to: string, allowed: string, got: number): never {
  return conversionFailure(
    `Failed to convert binData to ${to}`,
    `binData must be ${allowed} bytes long, but is ${got}`,
  );
}

/** A two's-complement integer of 1, 2 or 4 bytes. */
export function binaryToInt(bin: Binary, order: ByteOrder): number {
  const bytes = bytesOf(bin);
  const little = order === "little";
  switch (bytes.length) {
    case 1:
      return view(bytes).getInt8(0);
    case 2:
      return view(bytes).getInt16(0, little);
    case 4:
      return view(bytes).getInt32(0, little);
    default:
      return wrongWidth("int", "1, 2 or 4", bytes.length);
  }
}

/** A two's-complement integer of 1, 2, 4 or 8 bytes. */
export function binaryToLong(bin: Binary, order: ByteOrder): bigint {
  const bytes = bytesOf(bin);
  if (bytes.length === 8) return view(bytes).getBigInt64(0, order === "little");
  if (bytes.length === 1 || bytes.length === 2 || bytes.length === 4) return BigInt(binaryToInt(bin, order));
  return wrongWidth("long", "1, 2, 4 or 8", bytes.length);
}

/** An IEEE float of 4 (float32) or 8 (float64) bytes. */
export function binaryToDouble(bin: Binary, order: ByteOrder): number {
  const bytes = bytesOf(bin);
  const little = order === "little";
  if (bytes.length === 4) return view(bytes).getFloat32(0, little);
  if (bytes.length === 8) return view(bytes).getFloat64(0, little);
  return wrongWidth("double", "4 or 8", bytes.length);
}

export function intToBinary(value: number, order: ByteOrder, subtype: number): Binary {
  const bytes = new Uint8Array(4);
  view(bytes).setInt32(0, value, order === "little");
  return new Binary(bytes, subtype);
}

export function longToBinary(value: bigint, order: ByteOrder, subtype: number): Binary {
  const bytes = new Uint8Array(8);
  view(bytes).setBigInt64(0, value, order === "little");
  return new Binary(bytes, subtype);
}

export function doubleToBinary(value: number, order: ByteOrder, subtype: number): Binary {
  const bytes = new Uint8Array(8);
  view(bytes).setFloat64(0, value, order === "little");
  return new Binary(bytes, subtype);
}

export function boolToBinary(value: boolean, subtype: number): Binary {
  return new Binary(new Uint8Array([value ? 1 : 0]), subtype);
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

export function binaryToString(bin: Binary, format: BinaryFormat): string {
  const bytes = Buffer.from(bytesOf(bin));
  switch (format) {
    case "base64":
      return bytes.toString("base64");
    case "base64url":
      return bytes.toString("base64url");
    case "hex":
      return bytes.toString("hex").toUpperCase();
    case "uuid": {
      if (bytes.length !== 16) {
        return conversionFailure(
          "Failed to convert binData to string",
          `a UUID must be 16 bytes long, but is ${bytes.length}`,
        );
      }
      const hex = bytes.toString("hex");
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }
    case "utf8":
      try {
        return utf8Decoder.decode(bytes);
      } catch {
        return conversionFailure("Failed to convert binData to string", "the data is not valid UTF-8");
      }
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const HEX = /^(?:[0-9A-Fa-f]{2})*$/;
const UUID_TEXT = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

/** Decodes a string in `format`; a UUID becomes subtype 4 unless `subtype` says otherwise. */
export function stringToBinary(text: string, format: BinaryFormat, subtype: number | undefined): Binary {
  const bad = (): never =>
    conversionFailure(`Failed to parse BinData '${text}'`, `Input is not a valid ${format} string`);
  switch (format) {
    case "base64":
      if (!BASE64.test(text)) bad();
      return new Binary(Buffer.from(text, "base64"), subtype ?? 0);
    case "base64url":
      if (!BASE64URL.test(text) || text.length % 4 === 1) bad();
      return new Binary(Buffer.from(text, "base64url"), subtype ?? 0);
    case "hex":
      if (!HEX.test(text)) bad();
      return new Binary(Buffer.from(text, "hex"), subtype ?? 0);
    case "uuid":
      if (!UUID_TEXT.test(text)) bad();
      return new Binary(Buffer.from(text.replaceAll("-", ""), "hex"), subtype ?? UUID_SUBTYPE);
    case "utf8":
      return new Binary(Buffer.from(text, "utf8"), subtype ?? 0);
  }
}

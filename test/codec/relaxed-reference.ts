/**
 * The relaxed Extended JSON writer Eddy used before json-bytes.ts, kept as the tests' independent oracle:
 * one recursive pass building a string, with the same scalar renderings.
 */
import { bsonTag } from "../../src/mql/bson-types.ts";
import {
  canonicalExtendedJson,
  PLAIN_STRING,
  quoteKey,
  writeBsonValue,
  writeDate,
  writeDouble,
  writeRegex,
  type StringifyOptions,
} from "../../src/codec/ejson-text.ts";

/** What `stringifyExtendedJson` wrote before it was built on the byte writer. */
export function referenceExtendedJson(value: unknown, options: StringifyOptions = {}): string {
  const isoDates = options.dateFormat === "ISO8601";
  if (options.outputFormat === "canonicalJson") return canonicalExtendedJson(value, isoDates);
  return writeRelaxed(value, isoDates);
}

function writeString(value: string): string {
  return value.length <= 64 && PLAIN_STRING.test(value) ? `"${value}"` : JSON.stringify(value);
}

function writeRelaxed(value: unknown, isoDates: boolean): string {
  switch (typeof value) {
    case "string":
      return writeString(value);
    case "number":
      return writeDouble(value);
    case "boolean":
      return value ? "true" : "false";
    case "undefined":
      return "null";
    case "bigint":
      return value.toString();
    case "object":
      break;
    default:
      return "null";
  }
  if (value === null) return "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      out += writeRelaxed(value[i], isoDates);
    }
    return out + "]";
  }
  if (value instanceof Date) return writeDate(value, isoDates);
  if (value instanceof RegExp) return writeRegex(value.source, value.flags);
  const tag = bsonTag(value);
  if (tag !== undefined && tag !== "DBRef") return writeBsonValue(value, tag);
  let out = "{";
  let first = true;
  const obj = value as Record<string, unknown>;
  for (const key in obj) {
    const v = obj[key];
    if (v === undefined) continue;
    if (!first) out += ",";
    first = false;
    out += quoteKey(key) + writeRelaxed(v, isoDates);
  }
  return out + "}";
}

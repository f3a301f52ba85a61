import { bsonTypeOf, isNumber, isPlainObject, toJsNumber, type BsonTypeName } from "../bson-types.ts";
import { compareValues, toDecimal } from "../compare.ts";
import { MqlCompileError } from "../errors.ts";
import { allOf } from "./clause.ts";
import { resolveTypeSet } from "./element.ts";
import type { ValueTest } from "./path.ts";
import { toJsRegExp } from "./regex.ts";

const JSON_TYPES: Readonly<Record<string, readonly BsonTypeName[]>> = {
  object: ["object"],
  array: ["array"],
  number: ["int", "long", "double", "decimal"],
  boolean: ["bool"],
  string: ["string"],
  null: ["null"],
};

const UNSUPPORTED = new Set(["$ref", "$schema", "default", "definitions", "format", "id"]);
const ENCRYPTION = new Set(["encrypt", "encryptMetadata"]);
const IGNORED = new Set(["title", "description"]);
const HANDLED = new Set([
  "type",
  "bsonType",
  "required",
  "properties",
  "additionalProperties",
  "patternProperties",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minLength",
  "maxLength",
  "pattern",
  "enum",
  "items",
  "additionalItems",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
  "allOf",
  "anyOf",
  "oneOf",
  "not",
  "dependencies",
  "multipleOf",
]);

/**
 * Compiles `$jsonSchema` (JSON Schema draft 4 with MongoDB's `bsonType`, as MongoDB implements it): every
 * keyword constrains only values of the type it is about (`minimum` numbers, `properties` objects…),
 * arrays are never traversed implicitly, and `$ref`, `default`, `format`, `id`… are rejected.
 */
export function compileJsonSchema(schema: unknown, path: string): ValueTest {
  return compileSchema(schema, path);
}

/** One (sub)schema: the conjunction of its keywords. */
function compileSchema(schema: unknown, path: string): ValueTest {
  if (!isPlainObject(schema)) throw new MqlCompileError(path, "$jsonSchema must be an object");
  for (const key of Object.keys(schema)) {
    if (UNSUPPORTED.has(key))
      throw new MqlCompileError(`${path}.${key}`, `$jsonSchema keyword '${key}' is not currently supported`);
    if (ENCRYPTION.has(key))
      throw new MqlCompileError(
        `${path}.${key}`,
        "Encryption-related validator keywords are not allowed in this context",
      );
    if (!HANDLED.has(key) && !IGNORED.has(key))
      throw new MqlCompileError(`${path}.${key}`, `Unknown $jsonSchema keyword: ${key}`);
    if (IGNORED.has(key) && typeof schema[key] !== "string") {
      throw new MqlCompileError(`${path}.${key}`, `$jsonSchema keyword '${key}' must be of type string`);
    }
  }
  const at = (key: string): string => `${path}.${key}`;
  const tests: ValueTest[] = [];
  if ("type" in schema && "bsonType" in schema) {
    throw new MqlCompileError(path, "Cannot specify both $jsonSchema keywords 'type' and 'bsonType'");
  }
  if ("type" in schema) tests.push(typeTest(jsonTypes(schema.type, at("type"))));
  if ("bsonType" in schema) tests.push(typeTest(resolveTypeSet(schema.bsonType, at("bsonType"), "bsonType")));
  tests.push(...numberKeywords(schema, at));
  tests.push(...stringKeywords(schema, at));
  tests.push(...objectKeywords(schema, at));
  tests.push(...arrayKeywords(schema, at));
  tests.push(...logicKeywords(schema, at));
  if ("enum" in schema) {
    const values = schema.enum;
    if (!Array.isArray(values) || values.length === 0)
      throw new MqlCompileError(at("enum"), "$jsonSchema keyword 'enum' must be a nonempty array");
    tests.push((value) => values.some((candidate: unknown) => unorderedEqual(value, candidate)));
  }
  return allOf(tests);
}

function typeTest(types: ReadonlySet<BsonTypeName>): ValueTest {
  return (value) => value !== undefined && types.has(bsonTypeOf(value));
}

function jsonTypes(arg: unknown, path: string): ReadonlySet<BsonTypeName> {
  const list = Array.isArray(arg) ? arg : [arg];
  if (list.length === 0)
    throw new MqlCompileError(path, "$jsonSchema keyword 'type' must name at least one type");
  const out = new Set<BsonTypeName>();
  for (const name of list) {
    if (typeof name !== "string")
      throw new MqlCompileError(
        path,
        "$jsonSchema keyword 'type' must be either a string or an array of strings",
      );
    if (name === "integer")
      throw new MqlCompileError(path, "$jsonSchema type 'integer' is not currently supported.");
    const types = JSON_TYPES[name];
    if (!types) throw new MqlCompileError(path, `Unknown type name alias: ${name}`);
    for (const t of types) out.add(t);
  }
  return out;
}

function numberArg(schema: Record<string, unknown>, key: string, path: string): unknown {
  const v = schema[key];
  if (!isNumber(v)) throw new MqlCompileError(path, `$jsonSchema keyword '${key}' must be a number`);
  return v;
}

function countArg(schema: Record<string, unknown>, key: string, path: string): number {
  const v = schema[key];
  const n = isNumber(v) ? toJsNumber(v) : NaN;
  if (!Number.isInteger(n))
    throw new MqlCompileError(path, `$jsonSchema keyword '${key}' must be a representable as a long`);
  if (n < 0) throw new MqlCompileError(path, `$jsonSchema keyword '${key}' must be a non-negative integer`);
  return n;
}

function boolArg(schema: Record<string, unknown>, key: string, path: string): boolean {
  const v = schema[key];
  if (typeof v !== "boolean")
    throw new MqlCompileError(path, `$jsonSchema keyword '${key}' must be a boolean`);
  return v;
}

function numberKeywords(schema: Record<string, unknown>, at: (key: string) => string): ValueTest[] {
  const tests: ValueTest[] = [];
  for (const [key, exclusiveKey, sign] of [
    ["minimum", "exclusiveMinimum", 1],
    ["maximum", "exclusiveMaximum", -1],
  ] as const) {
    const exclusive = exclusiveKey in schema ? boolArg(schema, exclusiveKey, at(exclusiveKey)) : false;
    if (!(key in schema)) {
      if (exclusiveKey in schema)
        throw new MqlCompileError(
          at(exclusiveKey),
          `$jsonSchema keyword '${key}' must be a present if ${exclusiveKey} is present`,
        );
      continue;
    }
    const bound = numberArg(schema, key, at(key));
    tests.push((value) => {
      if (!isNumber(value) || isNaNNumber(value)) return !isNumber(value);
      const order = compareValues(value, bound) * sign;
      return exclusive ? order > 0 : order >= 0;
    });
  }
  if ("multipleOf" in schema) {
    const divisor = toDecimal(numberArg(schema, "multipleOf", at("multipleOf")));
    if (!divisor.isPositive() || divisor.isZero()) {
      throw new MqlCompileError(
        at("multipleOf"),
        "$jsonSchema keyword 'multipleOf' must have a positive value",
      );
    }
    tests.push((value) => !isNumber(value) || toDecimal(value).mod(divisor).isZero());
  }
  return tests;
}

function isNaNNumber(value: unknown): boolean {
  return typeof value === "number" ? Number.isNaN(value) : toDecimal(value).isNaN();
}

function stringKeywords(schema: Record<string, unknown>, at: (key: string) => string): ValueTest[] {
  const tests: ValueTest[] = [];
  if ("minLength" in schema) {
    const n = countArg(schema, "minLength", at("minLength"));
    tests.push((value) => typeof value !== "string" || codePoints(value) >= n);
  }
  if ("maxLength" in schema) {
    const n = countArg(schema, "maxLength", at("maxLength"));
    tests.push((value) => typeof value !== "string" || codePoints(value) <= n);
  }
  if ("pattern" in schema) {
    if (typeof schema.pattern !== "string")
      throw new MqlCompileError(at("pattern"), "$jsonSchema keyword 'pattern' must be a string");
    const re = toJsRegExp({ pattern: schema.pattern, options: "" }, at("pattern"));
    tests.push((value) => typeof value !== "string" || re.test(value));
  }
  return tests;
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function schemaMap(arg: unknown, key: string, path: string): Array<[string, ValueTest]> {
  if (!isPlainObject(arg)) throw new MqlCompileError(path, `$jsonSchema keyword '${key}' must be an object`);
  return Object.keys(arg).map((name) => [name, compileSchema(arg[name], `${path}.${name}`)]);
}

function objectKeywords(schema: Record<string, unknown>, at: (key: string) => string): ValueTest[] {
  const tests: ValueTest[] = [];
  if ("required" in schema) {
    const required = schema.required;
    if (!Array.isArray(required) || required.length === 0)
      throw new MqlCompileError(at("required"), "$jsonSchema keyword 'required' must be a nonempty array");
    for (const name of required) {
      if (typeof name !== "string")
        throw new MqlCompileError(
          at("required"),
          "$jsonSchema keyword 'required' must be an array of strings",
        );
    }
    if (new Set(required).size !== required.length)
      throw new MqlCompileError(
        at("required"),
        "$jsonSchema keyword 'required' array must not contain duplicate values",
      );
    const names = required as string[];
    tests.push((value) => !isPlainObject(value) || names.every((name) => Object.hasOwn(value, name)));
  }
  for (const [key, sign] of [
    ["minProperties", 1],
    ["maxProperties", -1],
  ] as const) {
    if (!(key in schema)) continue;
    const n = countArg(schema, key, at(key));
    tests.push((value) => !isPlainObject(value) || (Object.keys(value).length - n) * sign >= 0);
  }
  const properties =
    "properties" in schema ? schemaMap(schema.properties, "properties", at("properties")) : [];
  const patterns =
    "patternProperties" in schema
      ? schemaMap(schema.patternProperties, "patternProperties", at("patternProperties")).map(
          ([pattern, test]) =>
            [toJsRegExp({ pattern, options: "" }, `${at("patternProperties")}.${pattern}`), test] as const,
        )
      : [];
  const additional =
    "additionalProperties" in schema
      ? boolOrSchema(schema.additionalProperties, "additionalProperties", at("additionalProperties"))
      : undefined;
  if (properties.length > 0) {
    tests.push((value) => {
      if (!isPlainObject(value)) return true;
      for (const [name, test] of properties)
        if (Object.hasOwn(value, name) && !test(value[name])) return false;
      return true;
    });
  }
  if (patterns.length > 0 || additional) {
    const declared = new Set(properties.map(([name]) => name));
    tests.push((value) => {
      if (!isPlainObject(value)) return true;
      for (const name of Object.keys(value)) {
        let matchedPattern = false;
        for (const [re, test] of patterns) {
          if (re.test(name)) {
            matchedPattern = true;
            if (!test(value[name])) return false;
          }
        }
        if (additional && !matchedPattern && !declared.has(name) && !additional(value[name])) return false;
      }
      return true;
    });
  }
  if ("dependencies" in schema) {
    const deps = schema.dependencies;
    if (!isPlainObject(deps))
      throw new MqlCompileError(at("dependencies"), "$jsonSchema keyword 'dependencies' must be an object");
    const checks = Object.keys(deps).map((name): ValueTest => {
      const dep = deps[name];
      const depPath = `${at("dependencies")}.${name}`;
      if (Array.isArray(dep)) {
        if (dep.length === 0 || dep.some((d) => typeof d !== "string")) {
          throw new MqlCompileError(depPath, "property dependencies must be a nonempty array of strings");
        }
        const needed = dep as string[];
        return (value) =>
          !Object.hasOwn(value as object, name) || needed.every((n) => Object.hasOwn(value as object, n));
      }
      const sub = compileSchema(dep, depPath);
      return (value) => !Object.hasOwn(value as object, name) || sub(value);
    });
    tests.push((value) => !isPlainObject(value) || checks.every((check) => check(value)));
  }
  return tests;
}

/** `additionalProperties` / `additionalItems`: false forbids, true allows, a schema constrains. */
function boolOrSchema(arg: unknown, key: string, path: string): ValueTest | undefined {
  if (arg === true) return undefined;
  if (arg === false) return () => false;
  if (!isPlainObject(arg))
    throw new MqlCompileError(path, `$jsonSchema keyword '${key}' must be either an object or a boolean`);
  return compileSchema(arg, path);
}

function arrayKeywords(schema: Record<string, unknown>, at: (key: string) => string): ValueTest[] {
  const tests: ValueTest[] = [];
  for (const [key, sign] of [
    ["minItems", 1],
    ["maxItems", -1],
  ] as const) {
    if (!(key in schema)) continue;
    const n = countArg(schema, key, at(key));
    tests.push((value) => !Array.isArray(value) || (value.length - n) * sign >= 0);
  }
  if ("uniqueItems" in schema && boolArg(schema, "uniqueItems", at("uniqueItems"))) {
    tests.push((value) => {
      if (!Array.isArray(value)) return true;
      for (let i = 0; i < value.length; i++)
        for (let j = i + 1; j < value.length; j++) if (unorderedEqual(value[i], value[j])) return false;
      return true;
    });
  }
  if ("items" in schema) {
    const items = schema.items;
    if (Array.isArray(items)) {
      const tuple = items.map((item: unknown, i) => compileSchema(item, `${at("items")}[${i}]`));
      const additional =
        "additionalItems" in schema
          ? boolOrSchema(schema.additionalItems, "additionalItems", at("additionalItems"))
          : undefined;
      tests.push((value) => {
        if (!Array.isArray(value)) return true;
        for (let i = 0; i < value.length; i++) {
          const test = i < tuple.length ? tuple[i] : additional;
          if (test && !test(value[i])) return false;
        }
        return true;
      });
    } else {
      const each = compileSchema(items, at("items"));
      tests.push((value) => !Array.isArray(value) || value.every((v) => each(v)));
    }
  } else if ("additionalItems" in schema) {
    boolOrSchema(schema.additionalItems, "additionalItems", at("additionalItems"));
  }
  return tests;
}

function schemaList(schema: Record<string, unknown>, key: string, path: string): ValueTest[] {
  const list = schema[key];
  if (!Array.isArray(list) || list.length === 0)
    throw new MqlCompileError(path, `$jsonSchema keyword '${key}' must be a nonempty array`);
  return list.map((item: unknown, i) => compileSchema(item, `${path}[${i}]`));
}

function logicKeywords(schema: Record<string, unknown>, at: (key: string) => string): ValueTest[] {
  const tests: ValueTest[] = [];
  if ("allOf" in schema) tests.push(allOf(schemaList(schema, "allOf", at("allOf"))));
  if ("anyOf" in schema) {
    const list = schemaList(schema, "anyOf", at("anyOf"));
    tests.push((value) => list.some((test) => test(value)));
  }
  if ("oneOf" in schema) {
    const list = schemaList(schema, "oneOf", at("oneOf"));
    tests.push((value) => list.filter((test) => test(value)).length === 1);
  }
  if ("not" in schema) {
    const inner = compileSchema(schema.not, at("not"));
    tests.push((value) => !inner(value));
  }
  return tests;
}

/** BSON equality ignoring the order of object fields, as `enum` and `uniqueItems` compare. */
function unorderedEqual(a: unknown, b: unknown): boolean {
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && unorderedEqual(a[k], b[k]));
  }
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => unorderedEqual(v, b[i]));
  return compareValues(a, b) === 0;
}

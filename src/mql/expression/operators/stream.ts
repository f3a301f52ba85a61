import { type Binary, calculateObjectSize, UUID } from "bson";
import { bsonTypeOf, isPlainObject } from "../../bson-types.ts";
import { compileJsFunction } from "../../javascript.ts";
import type { Doc, Evaluator, Vars } from "../../types.ts";
import {
  compileArgs,
  describeValue,
  expectObjectArgs,
  type ExprContext,
  type OperatorTable,
} from "../context.ts";
import { compilePathReader } from "../field-path.ts";

/** `$meta` keywords MongoDB knows; outside a search or text stage they have no value in Eddy. */
const SERVER_META_KEYWORDS = new Set([
  "textScore",
  "randVal",
  "searchScore",
  "searchHighlights",
  "searchScoreDetails",
  "searchSequenceToken",
  "geoNearDistance",
  "geoNearPoint",
  "recordId",
  "indexKey",
  "sortKey",
  "score",
  "scoreDetails",
  "vectorSearchScore",
]);

/** The stream metadata of the current document: the engine's per-document `vars.$stream`, else `_stream_meta`. */
function streamMeta(root: Doc, vars: Vars): unknown {
  return vars.$stream ?? root._stream_meta;
}

/** `{$meta: "stream"}` or `{$meta: "stream.<path>"}` (ASP); other keywords evaluate to missing. */
function compileMeta(args: unknown, ctx: ExprContext): Evaluator {
  if (typeof args !== "string") throw ctx.error(`expects a string keyword, got ${describeValue(args)}`);
  if (args === "stream") return streamMeta;
  if (args.startsWith("stream.")) {
    const parts = args.slice("stream.".length).split(".");
    if (parts.some((p) => p === "" || p.startsWith("$")))
      throw ctx.error(`invalid stream metadata path '${args}'`);
    const read = compilePathReader(parts);
    return (root, vars) => {
      const fromVars = vars.$stream;
      const value = fromVars === undefined ? undefined : read(fromVars);
      return value !== undefined ? value : read(root._stream_meta);
    };
  }
  if (SERVER_META_KEYWORDS.has(args)) return () => undefined;
  throw ctx.error(`Unsupported argument to $meta: ${args}`);
}

/** Operators that take no arguments accept `{}` or `[]`. */
function expectNoArgs(args: unknown, ctx: ExprContext): void {
  const empty =
    (Array.isArray(args) && args.length === 0) || (isPlainObject(args) && Object.keys(args).length === 0);
  if (!empty) throw ctx.error(`takes no arguments, got ${describeValue(args)}`);
}

/** `$function: {body, args, lang: "js"}`: the body is compiled once; each call gets the evaluated args. */
function compileFunction(args: unknown, ctx: ExprContext): Evaluator {
  const obj = expectObjectArgs(args, ctx, ["body", "args", "lang"]);
  if (obj.lang !== "js")
    throw ctx.error(`$function only supports lang "js", got ${describeValue(obj.lang)}`, `${ctx.path}.lang`);
  if (!Array.isArray(obj.args))
    throw ctx.error(`'args' must be an array, got ${describeValue(obj.args)}`, `${ctx.path}.args`);
  const fn = compileJsFunction(obj.body, "body", `${ctx.path}.body`, (detail, at) => ctx.error(detail, at));
  const argList = obj.args.map((arg, i) => ctx.compile(arg, `${ctx.path}.args[${i}]`));
  return (root, vars) => {
    const values = argList.map((arg) => arg(root, vars));
    let result: unknown;
    try {
      result = fn(...values);
    } catch (err) {
      throw ctx.runtimeError(`$function: ${err instanceof Error ? err.message : String(err)}`, 31264);
    }
    return result === undefined ? null : result;
  };
}

function compileBinarySize(args: unknown, ctx: ExprContext): Evaluator {
  const [arg] = compileArgs(args, ctx, 1);
  return (root, vars) => {
    const v = arg(root, vars);
    if (v === null || v === undefined) return null;
    if (typeof v === "string") return Buffer.byteLength(v, "utf8");
    if (bsonTypeOf(v) === "binData") return (v as Binary).position;
    throw ctx.runtimeError(
      `$binarySize requires a string or BinData argument, found: ${bsonTypeOf(v)}`,
      51276,
    );
  };
}

function compileBsonSize(args: unknown, ctx: ExprContext): Evaluator {
  const [arg] = compileArgs(args, ctx, 1);
  return (root, vars) => {
    const v = arg(root, vars);
    if (v === null || v === undefined) return null;
    if (!isPlainObject(v))
      throw ctx.runtimeError(`$bsonSize requires a document input, found: ${bsonTypeOf(v)}`, 31393);
    return calculateObjectSize(v);
  };
}

export const streamOperators: OperatorTable = {
  $meta: compileMeta,
  $currentDate: (args, ctx) => (expectNoArgs(args, ctx), () => new Date()),
  $createUUID: (args, ctx) => (expectNoArgs(args, ctx), () => new UUID()),
  $rand: (args, ctx) => (expectNoArgs(args, ctx), () => Math.random()),
  $function: compileFunction,
  $binarySize: compileBinarySize,
  $bsonSize: compileBsonSize,
};

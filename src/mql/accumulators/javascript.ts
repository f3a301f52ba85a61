import { bsonTypeOf, isPlainObject } from "../bson-types.ts";
import { MqlRuntimeError } from "../errors.ts";
import { isLiteralExpression } from "../expression/compile.ts";
import { compileJsFunction, type JsFunction } from "../javascript.ts";
import { describeForMessage } from "./describe.ts";
import { expectArgs } from "./n-family.ts";
import { approximateSize } from "./state-size.ts";
import { type AccumulatorCompiler, type AccumulatorSpec, opaqueSpec } from "./types.ts";

/** The four functions of an `$accumulator`, compiled, plus its constant `initArgs`. */
interface UserAccumulator {
  readonly init: JsFunction;
  readonly initArgs: readonly unknown[];
  readonly accumulate: JsFunction;
  readonly merge: JsFunction;
  readonly finalize: JsFunction | undefined;
}

/** The boxed state: user functions may return anything, including undefined. */
interface Box {
  value: unknown;
}

function userAccumulatorSpec(user: UserAccumulator, path: string): AccumulatorSpec<Box> {
  const call = (which: string, fn: JsFunction, args: unknown[]): unknown => {
    try {
      return fn(...args);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new MqlRuntimeError("$accumulator", path, `$accumulator ${which}: ${message}`, 31264);
    }
  };
  return {
    name: "$accumulator",
    init: () => ({ value: call("init", user.init, [...user.initArgs]) }),
    add(state, args) {
      if (!Array.isArray(args)) {
        throw new MqlRuntimeError(
          "$accumulator",
          path,
          `$accumulator 'accumulateArgs' must evaluate to an array, got ${bsonTypeOf(args)}: ${describeForMessage(args)}`,
          4544711,
        );
      }
      state.value = call("accumulate", user.accumulate, [state.value, ...args]);
      return state;
    },
    merge: (a, b) => ({ value: call("merge", user.merge, [a.value, b.value]) }),
    result(state) {
      const out = user.finalize ? call("finalize", user.finalize, [state.value]) : state.value;
      return out === undefined ? null : out;
    },
    stateSize: (state) => 16 + approximateSize(state.value),
  };
}

/**
 * `$accumulator: {init, initArgs?, accumulate, accumulateArgs, merge, finalize?, lang: "js"}` (deprecated in
 * MongoDB 8.0, still accepted). Its functions run under the same policy as `$function` (in-process JavaScript).
 * `initArgs` must be a constant: Eddy creates group states before any document of the group is read.
 */
export const compileUserAccumulator: AccumulatorCompiler = (args, ctx) => {
  const obj = expectArgs(
    args,
    ctx,
    ["init", "accumulate", "accumulateArgs", "merge", "lang"],
    ["initArgs", "finalize"],
  );
  if (obj.lang !== "js")
    throw ctx.error(
      `$accumulator only supports lang "js", got ${describeForMessage(obj.lang)}`,
      `${ctx.path}.lang`,
    );
  const fn = (field: string): JsFunction =>
    compileJsFunction(obj[field], field, `${ctx.path}.${field}`, (detail, at) => ctx.error(detail, at));
  let initArgs: readonly unknown[] = [];
  if (obj.initArgs !== undefined) {
    const initPath = `${ctx.path}.initArgs`;
    if (!isLiteralExpression(obj.initArgs))
      throw ctx.error(
        "Eddy requires 'initArgs' to be a constant array (group states start before any document is read)",
        initPath,
      );
    const value = ctx.compile(obj.initArgs, initPath)({}, {});
    if (!Array.isArray(value))
      throw ctx.error(`'initArgs' must be an array, got ${bsonTypeOf(value)}`, initPath);
    initArgs = value;
  }
  if (
    isPlainObject(obj.accumulateArgs) ||
    Array.isArray(obj.accumulateArgs) ||
    typeof obj.accumulateArgs === "string"
  ) {
    const user: UserAccumulator = {
      init: fn("init"),
      initArgs,
      accumulate: fn("accumulate"),
      merge: fn("merge"),
      finalize: obj.finalize === undefined ? undefined : fn("finalize"),
    };
    return {
      argument: ctx.compile(obj.accumulateArgs, `${ctx.path}.accumulateArgs`),
      spec: opaqueSpec(userAccumulatorSpec(user, ctx.path)),
    };
  }
  throw ctx.error(
    `'accumulateArgs' must be an array expression, got ${describeForMessage(obj.accumulateArgs)}`,
    `${ctx.path}.accumulateArgs`,
  );
};

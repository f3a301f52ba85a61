import {
  opaqueSpec,
  type AccumulatorCompiler,
  type AccumulatorContext,
  type AccumulatorSpec,
} from "./types.ts";

/**
 * The compiler of a one-expression accumulator (`{$sum: <expression>}`). As in MongoDB, an array argument is
 * rejected: in `$group` these accumulators are unary (error 40237).
 */
export function unaryAccumulator<S>(
  spec: AccumulatorSpec<S> | ((ctx: AccumulatorContext) => AccumulatorSpec<S>),
): AccumulatorCompiler {
  return (args, ctx) => {
    if (Array.isArray(args)) throw ctx.error(`the ${ctx.operator} accumulator is a unary operator`);
    return {
      argument: ctx.compile(args, ctx.path),
      spec: opaqueSpec(typeof spec === "function" ? spec(ctx) : spec),
    };
  };
}

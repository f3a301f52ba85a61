import fc from "fast-check";
import { describe, it } from "vitest";
import { anyLeaf, checkAgainstMingo, type Disagreement, docArb, isError, valueOf } from "./mingo-oracle.ts";

const UNARY = ["$abs", "$ceil", "$floor", "$sqrt", "$exp", "$ln", "$log10", "$sin", "$cos", "$atan", "$tanh"];
const BINARY = ["$subtract", "$divide", "$mod", "$pow", "$log"];

const { expr } = fc.letrec<{ expr: unknown; op: unknown }>((tie) => ({
  expr: fc.oneof({ maxDepth: 3, depthIdentifier: "arith" }, anyLeaf, tie("op"), tie("op")),
  op: fc.oneof(
    fc
      .tuple(fc.constantFrom("$add", "$multiply"), fc.array(tie("expr"), { maxLength: 3 }))
      .map(([op, args]) => ({ [op]: args })),
    fc.tuple(fc.constantFrom(...BINARY), tie("expr"), tie("expr")).map(([op, a, b]) => ({ [op]: [a, b] })),
    fc.tuple(fc.constantFrom(...UNARY), tie("expr")).map(([op, a]) => ({ [op]: a })),
    fc
      .tuple(
        fc.constantFrom("$round", "$trunc"),
        tie("expr"),
        fc.option(fc.integer({ min: -2, max: 3 }), { nil: undefined }),
      )
      .map(([op, a, place]) => ({ [op]: place === undefined ? [a] : [a, place] })),
  ),
}));

const isNullish = (v: unknown): boolean => v === null || v === undefined;

/** mingo vs MongoDB, each listed in docs/mql-differences.md. */
function knownDifference(d: Disagreement): boolean {
  const ours = d.ours;
  const theirs = d.theirs;
  // MongoDB raises an error for the logarithm of a non-positive number and for $mod by zero.
  if (isError(ours) && /must be a positive number|can't \$mod by zero/.test(ours.error)) return true;
  // MongoDB returns null as soon as an operand is null or missing, before type checks and later operands.
  if (
    !isError(ours) &&
    ours.value === null &&
    isError(theirs) &&
    d.args.some((a) => !isError(a) && isNullish(valueOf(a)))
  )
    return true;
  // MongoDB checks operands left to right: a non-number before a null is a type error.
  if (isError(ours) && /only supports numeric/.test(ours.error) && !isError(theirs) && theirs.value === null)
    return true;
  // mingo treats NaN as a non-number.
  if (isError(theirs) && d.args.some((a) => Number.isNaN(valueOf(a)))) return true;
  // mingo rounds digit by digit (so -1.4501 ⇒ -2); MongoDB quantizes the exact value in decimal. Accept a
  // difference of one unit in the last place kept.
  if ((d.operator === "$round" || d.operator === "$trunc") && !isError(ours) && !isError(theirs)) {
    const place = d.args.length === 2 ? Number(valueOf(d.args[1])) : 0;
    return Math.abs(Number(ours.value) - Number(theirs.value)) <= 10 ** -place * (1 + 1e-9);
  }
  return false;
}

describe("arithmetic expressions agree with mingo", () => {
  it("over generated documents and expression trees", () => {
    fc.assert(
      fc.property(expr, docArb, (e, doc) => checkAgainstMingo(e, doc, knownDifference)),
      { numRuns: 6000 },
    );
  });
});

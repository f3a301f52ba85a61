import { Long } from "bson";
import fc from "fast-check";
import { Aggregator } from "mingo";
import { compileExpression } from "../../../src/mql/index.ts";
import type { Doc } from "../../../src/mql/types.ts";

/** Outcome of evaluating an expression: a value (undefined = missing) or an error. */
export type Outcome = { readonly value: unknown } | { readonly error: string };

/** Evaluates with mingo (the test oracle) through an `$addFields`. */
export function mingoOutcome(expr: unknown, doc: Doc): Outcome {
  try {
    const [out] = new Aggregator([{ $addFields: { v: expr } }]).run([doc]) as Doc[];
    return { value: out.v };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

export function eddyOutcome(expr: unknown, doc: Doc): Outcome {
  try {
    return { value: compileExpression(expr)(doc, {}) };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/** Same value, numbers compared with a small relative tolerance (libm differences), NaN equal to NaN. */
export function sameValue(a: unknown, b: unknown): boolean {
  // mingo has no int64: Eddy's exact Long results compare by value.
  if (a instanceof Long) return sameValue(a.toNumber(), b);
  if (b instanceof Long) return sameValue(a, b.toNumber());
  if (typeof a === "number" && typeof b === "number") {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
    if (a === b) return true;
    return Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
  }
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => sameValue((a as Doc)[k], (b as Doc)[k]));
  }
  return a === b;
}

export function sameOutcome(a: Outcome, b: Outcome): boolean {
  if ("error" in a || "error" in b) return "error" in a && "error" in b;
  return sameValue(a.value, b.value);
}

/** Numbers both engines model identically: small integers and binary fractions. */
export const numberArb = fc.oneof(
  fc.integer({ min: -20, max: 20 }),
  fc.integer({ min: -400, max: 400 }).map((i) => i / 8),
  fc.constantFrom(0, 1, -1, 2.5, -2.5, 0.5, 1e6),
);

export const scalarArb = fc.oneof(
  { weight: 6, arbitrary: numberArb },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constantFrom("", "a", "abc", "B") },
);

/** Documents with numeric fields a and b, a mixed scalar c, a string s and a null n. */
export const docArb: fc.Arbitrary<Doc> = fc.record({
  a: numberArb,
  b: numberArb,
  c: scalarArb,
  s: fc.constantFrom("", "a", "xyz"),
  n: fc.constant(null),
});

/** Leaves that are never missing, and leaves that may be (`$missing`). */
export const presentLeaf = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("$a", "$b", "$c", "$s", "$n") },
  { weight: 2, arbitrary: scalarArb },
);
export const anyLeaf = fc.oneof(
  { weight: 6, arbitrary: presentLeaf },
  { weight: 1, arbitrary: fc.constant("$missing") },
);

/** The innermost operator node on which the engines disagree, with its arguments' (agreed) values. */
export interface Disagreement {
  readonly operator: string;
  readonly args: readonly Outcome[];
  readonly ours: Outcome;
  readonly theirs: Outcome;
}

export function innermostDisagreement(expr: unknown, doc: Doc): Disagreement | undefined {
  if (expr === null || typeof expr !== "object") return undefined;
  const [operator] = Object.keys(expr);
  if (Array.isArray(expr) || !operator?.startsWith("$")) {
    for (const child of Object.values(expr)) {
      const inner = innermostDisagreement(child, doc);
      if (inner) return inner;
    }
    return undefined;
  }
  const raw = (expr as Doc)[operator];
  const isOperator = raw !== null && typeof raw === "object" && Object.keys(raw)[0]?.startsWith("$");
  const children = Array.isArray(raw)
    ? raw
    : raw !== null && typeof raw === "object" && !isOperator
      ? Object.values(raw)
      : [raw];
  for (const child of children) {
    const inner = innermostDisagreement(child, doc);
    if (inner) return inner;
  }
  const ours = eddyOutcome(expr, doc);
  const theirs = mingoOutcome(expr, doc);
  if (sameOutcome(ours, theirs)) return undefined;
  return { operator, args: children.map((c) => eddyOutcome(c, doc)), ours, theirs };
}

/** Asserts agreement, except where the innermost disagreement is a documented mingo difference. */
export function checkAgainstMingo(expr: unknown, doc: Doc, known: (d: Disagreement) => boolean): void {
  const ours = eddyOutcome(expr, doc);
  const theirs = mingoOutcome(expr, doc);
  if (sameOutcome(ours, theirs)) return;
  const d = innermostDisagreement(expr, doc);
  if (d && known(d)) return;
  throw new Error(
    `Eddy and mingo disagree on ${JSON.stringify(expr)} over ${JSON.stringify(doc)}: ` +
      `Eddy ${JSON.stringify(ours)}, mingo ${JSON.stringify(theirs)}; innermost ${JSON.stringify(d)}`,
  );
}

export const isError = (o: Outcome): o is { readonly error: string } => "error" in o;
export const valueOf = (o: Outcome): unknown => ("value" in o ? o.value : undefined);

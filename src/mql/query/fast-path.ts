import { generateFunction, literal } from "../codegen.ts";
import type { Doc } from "../types.ts";
import { bindToPath, notClause, testClause } from "./clause.ts";
import { compileComparison, type ComparisonOperator } from "./comparison.ts";
import { isInheritedName, type PathTest } from "./path.ts";

type FastOperator = ComparisonOperator | "$ne";
const FAST_OPERATORS: ReadonlySet<string> = new Set(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]);

/**
 * The hot case of a field (top-level or a dotted path through plain subdocuments) compared with a literal
 * number, string or boolean (`{price: {$gt: 5}}`, `{"obs.watts": {$gte: 20}}`, `{status: "open"}`): a few
 * property reads, one typeof check and one JS comparison, falling back to the general path test for arrays,
 * bson values and everything else. Undefined when the case does not apply.
 */
export function compileFastField(field: string, value: unknown): PathTest | undefined {
  const parts = field.split(".");
  if (parts.some((part) => part === "" || isInheritedName(part))) return undefined;
  let op: FastOperator = "$eq";
  let rhs = value;
  if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    const keys = Object.keys(value);
    if (keys.length !== 1 || !FAST_OPERATORS.has(keys[0])) return undefined;
    op = keys[0] as FastOperator;
    rhs = (value as Record<string, unknown>)[op];
  }
  if (
    !(typeof rhs === "number" && rhs === rhs) &&
    typeof rhs !== "string" &&
    !(op === "$eq" && typeof rhs === "boolean")
  ) {
    return undefined;
  }
  const eq = testClause(compileComparison(op === "$ne" ? "$eq" : op, rhs));
  const slow = bindToPath(field, op === "$ne" ? notClause(eq) : eq);
  const kind = typeof rhs;
  const r = rhs as number | string | boolean;
  return generateFast(parts, op, r, kind, slow) ?? build(fastReader(parts), op, r, kind, slow);
}

const OPERATOR_SOURCE: Readonly<Record<FastOperator, string>> = {
  $eq: "===",
  $ne: "!==",
  $gt: ">",
  $gte: ">=",
  $lt: "<",
  $lte: "<=",
};

/**
 * The generated form of {@link build} over {@link fastReader}: named loads down the path and one
 * comparison against the literal, in a function of its own (see `codegen.ts`).
 */
function generateFast(
  parts: readonly string[],
  op: FastOperator,
  r: number | string | boolean,
  kind: string,
  slow: PathTest,
): PathTest | undefined {
  let body = `let v = doc[${literal(parts[0])}];\n`;
  for (let i = 1; i < parts.length; i++) {
    // The load comes before the prototype test: its inline cache proves the map, which lets the optimiser
    // fold the test to a constant.
    body +=
      `if (typeof v === "object" && v !== null) {\n` +
      `  const w = v[${literal(parts[i])}];\n` +
      `  v = Object.getPrototypeOf(v) === OBJECT_PROTOTYPE ? w : undefined;\n` +
      `} else v = undefined;\n`;
  }
  body += `return typeof v === ${literal(kind)} ? v ${OPERATOR_SOURCE[op]} ${literal(r)} : slow(doc);`;
  return generateFunction<PathTest>(
    { OBJECT_PROTOTYPE: Object.prototype, slow },
    `return function fastField(doc) {\n${body}\n};`,
  );
}

/**
 * Reads a path through plain subdocuments only; anything else on the way (an array, a bson value…) yields
 * undefined, which sends the document to the general path test.
 */
function fastReader(parts: readonly string[]): (doc: Doc) => unknown {
  if (parts.length === 1) {
    const [a] = parts;
    return (doc) => doc[a];
  }
  if (parts.length === 2) {
    const [a, b] = parts;
    return (doc) => {
      const o = doc[a];
      return typeof o === "object" && o !== null && Object.getPrototypeOf(o) === Object.prototype
        ? (o as Doc)[b]
        : undefined;
    };
  }
  return (doc) => {
    let o: unknown = doc;
    for (const part of parts) {
      if (
        typeof o !== "object" ||
        o === null ||
        (o !== doc && Object.getPrototypeOf(o) !== Object.prototype)
      ) {
        return undefined;
      }
      o = (o as Doc)[part];
    }
    return o;
  };
}

function build(
  read: (doc: Doc) => unknown,
  op: FastOperator,
  r: number | string | boolean,
  kind: string,
  slow: PathTest,
): PathTest {
  // Each branch is written out so the comparison is monomorphic; values of another type go to `slow`,
  // which applies type bracketing, null/missing and array traversal.
  switch (op) {
    case "$eq":
      return (doc: Doc) => {
        const v = read(doc);
        return typeof v === kind ? v === r : slow(doc);
      };
    case "$ne":
      return (doc: Doc) => {
        const v = read(doc);
        return typeof v === kind ? v !== r : slow(doc);
      };
    case "$gt":
      return (doc: Doc) => {
        const v = read(doc);
        return typeof v === kind ? (v as number) > (r as number) : slow(doc);
      };
    case "$gte":
      return (doc: Doc) => {
        const v = read(doc);
        return typeof v === kind ? (v as number) >= (r as number) : slow(doc);
      };
    case "$lt":
      return (doc: Doc) => {
        const v = read(doc);
        return typeof v === kind ? (v as number) < (r as number) : slow(doc);
      };
    case "$lte":
      return (doc: Doc) => {
        const v = read(doc);
        return typeof v === kind ? (v as number) <= (r as number) : slow(doc);
      };
  }
}

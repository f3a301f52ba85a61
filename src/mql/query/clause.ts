import { compilePathTest, type PathTest, type ValueTest } from "./path.ts";

/**
 * What the operators on one field compile to, before it is bound to a path: a value test (applied to
 * every value the path yields, `whole` when a leaf array is tested as one value), its negation, a
 * conjunction, or a constant. The same clause binds to a document path (`{a: {...}}`) or to the
 * elements of an array (`$elemMatch` value form).
 */
export type Clause =
  | { readonly kind: "test"; readonly test: ValueTest; readonly whole: boolean }
  | { readonly kind: "not"; readonly clause: Clause }
  | { readonly kind: "and"; readonly clauses: readonly Clause[] }
  | { readonly kind: "const"; readonly value: boolean };

export function testClause(test: ValueTest, whole = false): Clause {
  return { kind: "test", test, whole };
}

export function notClause(clause: Clause): Clause {
  return { kind: "not", clause };
}

export function andClause(clauses: readonly Clause[]): Clause {
  return clauses.length === 1 ? clauses[0] : { kind: "and", clauses };
}

const ALWAYS = (): boolean => true;
const NEVER = (): boolean => false;

/** A clause bound to a dotted path: true when the document matches at that path. */
export function bindToPath(path: string, clause: Clause): PathTest {
  switch (clause.kind) {
    case "test":
      return compilePathTest(path, clause.test, clause.whole ? "whole" : "traverse");
    case "not": {
      const inner = bindToPath(path, clause.clause);
      return (doc) => !inner(doc);
    }
    case "and":
      return allOf(clause.clauses.map((c) => bindToPath(path, c)));
    case "const":
      return clause.value ? ALWAYS : NEVER;
  }
}

/** A clause applied to one value with no path traversal (`$elemMatch` on each array element). */
export function bindToValue(clause: Clause): ValueTest {
  switch (clause.kind) {
    case "test":
      return clause.test;
    case "not": {
      const inner = bindToValue(clause.clause);
      return (value) => !inner(value);
    }
    case "and":
      return allOf(clause.clauses.map(bindToValue));
    case "const":
      return clause.value ? ALWAYS : NEVER;
  }
}

/** The conjunction of single-argument tests, unrolled for the common small counts. */
export function allOf<T>(tests: readonly ((arg: T) => boolean)[]): (arg: T) => boolean {
  if (tests.length === 0) return ALWAYS;
  if (tests.length === 1) return tests[0];
  if (tests.length === 2) {
    const [a, b] = tests;
    return (arg) => a(arg) && b(arg);
  }
  return (arg) => {
    for (let i = 0; i < tests.length; i++) if (!tests[i](arg)) return false;
    return true;
  };
}

import { isPlainObject } from "../bson-types.ts";
import { MqlCompileError } from "../errors.ts";
import type { Doc, Evaluator, Vars } from "../types.ts";
import { generateApplyLevel, type ApplyLevel, type IncludeLevel } from "./projection-codegen.ts";

/** How a field of one level of a projection is handled; the numbers index `ProjectionNode.lookup`. */
export const INCLUDE = 1;
export const EXCLUDE = 2;
export const CHILD = 3;
export const COMPUTED = 4;

/**
 * One level of a `$project`/`$addFields`/`$unset` spec (MongoDB's `ProjectionNode`): leaf inclusions and
 * exclusions, computed fields and sub-levels. computed fields are added in spec order, as MongoDB does.
 */
export class ProjectionNode {
  /** Field name → INCLUDE | EXCLUDE | CHILD | COMPUTED (a Map: faster than a dictionary object, any name is safe). */
  readonly lookup = new Map<string, number>();
  readonly children = new Map<string, ProjectionNode>();
  readonly computed = new Map<string, Evaluator>();
  /** Every field of this level, in the order the spec first names it. */
  private readonly fields: string[] = [];
  /** True when this level or one below it has a computed field. */
  hasComputed = false;
  /** Filled by `freeze()`: `order` split into parallel arrays for the hot loop. */
  orderKeys: string[] = [];
  orderComputed: Array<Evaluator | undefined> = [];
  orderChildren: Array<ProjectionNode | undefined> = [];
  /** Cache for the interpreted `includeLoop` (`project.ts`): the last input's keys by position and their kinds. */
  readonly seenKeys: string[] = [];
  readonly seenKinds: Array<number | undefined> = [];
  /** Filled by `freeze()`: true when some field is included, excluded or descended in phase one. */
  hasProjected = false;
  /** Phase one of an inclusion level, made once by `$project` when it compiles (see `project.ts`). */
  include: IncludeLevel | undefined;
  private applyCopying: ApplyLevel | undefined;
  private applyInPlace: ApplyLevel | undefined;

  /** Adds `parts` as a leaf (include/exclude) or computed field, creating sub-levels; checks collisions. */
  add(
    parts: readonly string[],
    what: typeof INCLUDE | typeof EXCLUDE | Evaluator,
    errorPath: string,
    stage: string,
    depth = 0,
  ): void {
    const part = parts[depth];
    const kind = this.lookup.get(part);
    if (depth < parts.length - 1) {
      if (kind !== undefined && kind !== CHILD) throw collision(parts, depth + 1, errorPath, stage);
      let child = this.children.get(part);
      if (!child) {
        child = new ProjectionNode();
        this.children.set(part, child);
        this.lookup.set(part, CHILD);
        this.fields.push(part);
      }
      child.add(parts, what, errorPath, stage, depth + 1);
      return;
    }
    if (kind !== undefined) throw collision(parts, parts.length, errorPath, stage);
    this.fields.push(part);
    if (typeof what === "function") {
      this.lookup.set(part, COMPUTED);
      this.computed.set(part, what);
    } else {
      this.lookup.set(part, what);
    }
  }

  /**
   * Phase two of this level (computed fields, then sub-levels), made once: a stage asks its root when it
   * compiles, which makes every sub-level's too. `copy`: copy the subdocuments met on the way (they belong
   * to the input document).
   */
  applier(copy: boolean): ApplyLevel {
    if (copy) return (this.applyCopying ??= makeApplier(this, true));
    return (this.applyInPlace ??= makeApplier(this, false));
  }

  /** Has a field of this level been specified (leaf, computed or sub-level)? */
  has(field: string): boolean {
    return this.lookup.get(field) !== undefined;
  }

  /** Computes `hasComputed`, `hasProjected` and the hot-loop arrays, recursively. Call once after the last `add`. */
  freeze(): this {
    for (const child of this.children.values()) child.freeze();
    const order = this.fields.filter((field) => {
      const kind = this.lookup.get(field);
      return kind === COMPUTED || (kind === CHILD && this.children.get(field)!.hasComputed);
    });
    this.hasComputed = order.length > 0;
    this.orderKeys = order;
    this.orderComputed = order.map((f) => this.computed.get(f));
    this.orderChildren = order.map((f) => (this.lookup.get(f) === CHILD ? this.children.get(f) : undefined));
    this.hasProjected = this.fields.some((f) => this.lookup.get(f) !== COMPUTED);
    return this;
  }
}

function collision(
  parts: readonly string[],
  upTo: number,
  errorPath: string,
  stage: string,
): MqlCompileError {
  const at = parts.join(".");
  const remaining = parts.slice(upTo).join(".");
  const detail = remaining
    ? `Path collision at ${at} remaining portion ${remaining}`
    : `Path collision at ${at}`;
  return new MqlCompileError(errorPath, `Invalid ${stage} :: caused by :: ${detail}`);
}

// ---------------------------------------------------------------------------------------------------------
// Phase two (shared by $project and $addFields): computed fields, applied to a document being built.

/**
 * Adds this level's computed fields to `out` (in place), descending into sub-levels (MongoDB's
 * `applyExpressions`). A missing result removes the field. Sub-documents met on the way are copied when
 * `copy` is set (their originals belong to the input document).
 */
export function applyComputed(node: ProjectionNode, out: Doc, root: Doc, vars: Vars, copy: boolean): void {
  node.applier(copy)(out, root, vars);
}

function makeApplier(node: ProjectionNode, copy: boolean): ApplyLevel {
  // Sub-levels first, so a stage compiled from the root gets all its levels made at compile time.
  for (const child of node.orderChildren) child?.applier(copy);
  return (
    generateApplyLevel(node, copy, computedValue) ??
    ((out, root, vars) => applyComputedLoop(node, out, root, vars, copy))
  );
}

/** The interpreted form of a generated {@link ApplyLevel}. */
function applyComputedLoop(node: ProjectionNode, out: Doc, root: Doc, vars: Vars, copy: boolean): void {
  const keys = node.orderKeys;
  const computed = node.orderComputed;
  const children = node.orderChildren;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const evaluate = computed[i];
    if (evaluate !== undefined) {
      const value = evaluate(root, vars);
      if (value !== undefined) out[key] = value;
      else if (key in out) delete out[key];
    } else {
      out[key] = computedValue(children[i]!, out[key], root, vars, copy);
    }
  }
}

/** `applyExpressionsToValue`: objects get the fields, arrays are mapped, anything else becomes a new document. */
function computedValue(node: ProjectionNode, value: unknown, root: Doc, vars: Vars, copy: boolean): unknown {
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = computedValue(node, value[i], root, vars, copy);
    return out;
  }
  let doc: Doc;
  if (isPlainObject(value)) doc = copy ? { ...value } : value;
  else doc = {};
  applyComputed(node, doc, root, vars, copy);
  return doc;
}

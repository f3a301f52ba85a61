import { isNumber, isPlainObject } from "../bson-types.ts";
import { MqlCompileError } from "../errors.ts";
import { compileExpression } from "../expression/compile.ts";
import { isTruthy } from "../expression/truthiness.ts";
import type { CompileOptions, Doc, Vars } from "../types.ts";
import { childPath, splitFieldPath } from "./field-name.ts";
import {
  generateIncludeLevel,
  generateStage,
  type IncludedField,
  type IncludeLevel,
} from "./projection-codegen.ts";
import { CHILD, EXCLUDE, INCLUDE, ProjectionNode } from "./projection-tree.ts";

/** A compiled per-document stage that reshapes one document. */
export type DocTransform = (doc: Doc, vars?: Vars) => Doc;

const NO_VARS: Vars = Object.freeze({}) as Vars;
const STAGE = "$project";

type Mode = "inclusion" | "exclusion";

/**
 * Compiles a `$project` spec. Inclusion projections keep the named fields (and `_id` unless excluded) in
 * input order, then add computed fields in spec order; exclusion projections drop the named fields.
 * Dotted paths and nested objects descend into subdocuments and arrays of subdocuments.
 */
export function compileProject(spec: unknown, options: CompileOptions = {}): DocTransform {
  const path = options.path ?? STAGE;
  const { root, mode } = parseProjection(spec, path, options.variables);
  if (mode === "exclusion") return (doc) => excludeDoc(root, doc);
  const include = includerOf(root);
  if (!root.hasComputed) return include;
  const apply = root.applier(false);
  const start = root.hasProjected ? "include" : "empty";
  const generated = generateStage(start, include, apply, NO_VARS);
  if (generated) return generated;
  if (!root.hasProjected) {
    return (doc, vars = NO_VARS) => {
      const out: Doc = {};
      apply(out, doc, vars);
      return out;
    };
  }
  return (doc, vars = NO_VARS) => {
    const out = include(doc);
    apply(out, doc, vars);
    return out;
  };
}

/** Parses a `$project` spec into its tree and mode; exported for `$unset`, which is an exclusion projection. */
export function parseProjection(
  spec: unknown,
  path: string,
  variables?: readonly string[],
): { root: ProjectionNode; mode: Mode } {
  if (!isPlainObject(spec)) throw new MqlCompileError(path, `$project specification must be an object`);
  if (Object.keys(spec).length === 0) {
    throw new MqlCompileError(
      path,
      `Invalid $project :: caused by :: projection specification must have at least one field`,
    );
  }
  const parser = new ProjectParser(variables);
  parser.parseLevel(spec, [], path);
  const root = parser.root;
  let mode = parser.mode;
  const idKind = root.has("_id") ? root.lookup.get("_id") : undefined;
  if (mode === undefined) mode = idKind === EXCLUDE ? "exclusion" : "inclusion";
  if (mode === "inclusion" && idKind === undefined) root.add(["_id"], INCLUDE, path, STAGE);
  return { root: root.freeze(), mode };
}

class ProjectParser {
  readonly root = new ProjectionNode();
  mode: Mode | undefined;
  private readonly variables: readonly string[] | undefined;

  constructor(variables: readonly string[] | undefined) {
    this.variables = variables;
  }

  parseLevel(spec: Record<string, unknown>, prefix: readonly string[], path: string): void {
    for (const key of Object.keys(spec)) {
      const keyPath = childPath(path, key);
      const parts = [...prefix, ...splitFieldPath(key, keyPath, STAGE)];
      const value = spec[key];
      if (typeof value === "boolean" || isNumber(value)) {
        this.addLeaf(parts, isTruthy(value), keyPath);
      } else if (isPlainObject(value) && !isExpressionObject(value)) {
        if (Object.keys(value).length === 0) {
          throw new MqlCompileError(
            keyPath,
            `Invalid $project :: caused by :: An empty sub-projection is not a valid value. Found empty object at path`,
          );
        }
        this.parseLevel(value, parts, keyPath);
      } else {
        this.require("inclusion", keyPath, "Cannot use expression other than $meta in exclusion projection");
        this.root.add(
          parts,
          compileExpression(value, { path: keyPath, variables: this.variables }),
          keyPath,
          STAGE,
        );
      }
    }
  }

  private addLeaf(parts: readonly string[], include: boolean, keyPath: string): void {
    const isTopId = parts.length === 1 && parts[0] === "_id";
    if (!isTopId) {
      const field = parts.join(".");
      if (include)
        this.require("inclusion", keyPath, `Cannot do inclusion on field ${field} in exclusion projection`);
      else
        this.require("exclusion", keyPath, `Cannot do exclusion on field ${field} in inclusion projection`);
    }
    this.root.add(parts, include ? INCLUDE : EXCLUDE, keyPath, STAGE);
  }

  /** The top-level `_id` is left out of this check: an inclusion projection may exclude it. */
  private require(mode: Mode, keyPath: string, conflict: string): void {
    if (this.mode === undefined) this.mode = mode;
    else if (this.mode !== mode)
      throw new MqlCompileError(keyPath, `Invalid $project :: caused by :: ${conflict}`);
  }
}

/** `{$op: …}` (an operator expression) rather than a nested projection. */
function isExpressionObject(value: Record<string, unknown>): boolean {
  for (const key in value) return key.startsWith("$");
  return false;
}

// ---------------------------------------------------------------------------------------------------------
// Inclusion, phase one: copy the included fields in input order, descending into sub-levels.

function includeDoc(node: ProjectionNode, input: Doc): Doc {
  return includerOf(node)(input);
}

/** A level's phase one: generated (`projection-codegen.ts`) when possible; made once, with its sub-levels'. */
function includerOf(node: ProjectionNode): IncludeLevel {
  if (node.include) return node.include;
  const fields: IncludedField[] = [];
  for (const [key, kind] of node.lookup) {
    if (kind === INCLUDE) fields.push({ key, child: undefined });
    else if (kind === CHILD) {
      // Sub-levels first, so a stage compiled from the root gets all its levels made at compile time.
      const child = node.children.get(key)!;
      includerOf(child);
      fields.push({ key, child });
    }
  }
  node.include = generateIncludeLevel(fields, includeValue) ?? ((input: Doc) => includeLoop(node, input));
  return node.include;
}

/** The interpreted form of a generated {@link IncludeLevel}. */
function includeLoop(node: ProjectionNode, input: Doc): Doc {
  const out: Doc = {};
  const lookup = node.lookup;
  // Documents of a stream mostly share one key order: remember the last one's keys and their kinds, so a
  // key matching the remembered one at its position (an identity check for internalised strings) skips
  // the Map lookup.
  const seenKeys = node.seenKeys;
  const seenKinds = node.seenKinds;
  let i = 0;
  for (const key in input) {
    let kind: number | undefined;
    if (seenKeys[i] === key) kind = seenKinds[i];
    else {
      kind = lookup.get(key);
      seenKeys[i] = key;
      seenKinds[i] = kind;
    }
    i++;
    if (kind === INCLUDE) {
      const value = input[key];
      if (value !== undefined) out[key] = value;
    } else if (kind === CHILD) {
      const value = includeValue(node.children.get(key)!, input[key]);
      if (value !== undefined) out[key] = value;
    }
  }
  return out;
}

/**
 * A sub-level applied to a value: documents are projected, arrays mapped (nested arrays too), other values
 * dropped — except inside arrays when computed fields will turn them into documents in phase two.
 */
function includeValue(node: ProjectionNode, value: unknown): unknown {
  if (isPlainObject(value)) return includeDoc(node, value);
  if (!Array.isArray(value)) return undefined;
  const out: unknown[] = [];
  for (const element of value) {
    if (isPlainObject(element)) out.push(includeDoc(node, element));
    else if (Array.isArray(element)) out.push(includeValue(node, element));
    else if (node.hasComputed) out.push(undefined);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Exclusion: copy everything but the excluded fields.

/** Applies an exclusion level to a document; exported for `$unset`. */
export function excludeDoc(node: ProjectionNode, input: Doc): Doc {
  const out: Doc = {};
  const lookup = node.lookup;
  for (const key in input) {
    const kind = lookup.get(key);
    if (kind === undefined) out[key] = input[key];
    else if (kind === CHILD) out[key] = excludeValue(node.children.get(key)!, input[key]);
  }
  return out;
}

function excludeValue(node: ProjectionNode, value: unknown): unknown {
  if (isPlainObject(value)) return excludeDoc(node, value);
  if (!Array.isArray(value)) return value;
  return value.map((element) => excludeValue(node, element));
}

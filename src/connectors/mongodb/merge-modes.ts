/** Resolves `$merge.whenMatched` / `whenNotMatched` for one document, as ASP allows per-document expressions. */
import type { Doc, Vars } from "../../mql/index.ts";
import type { MergeMode, MergeWhenMatched, MergeWhenNotMatched } from "../../pipeline/plan.ts";

const MATCHED_MODES: ReadonlySet<string> = new Set(["merge", "replace", "keepExisting", "delete"]);

export type ResolvedWhenMatched =
  | { readonly kind: "mode"; readonly mode: MergeMode }
  | { readonly kind: "pipeline"; readonly apply: (existing: Doc, vars: Vars) => Doc };

export class MergeModeError extends Error {
  override readonly name = "MergeModeError";
}

export function resolveWhenMatched(spec: MergeWhenMatched, doc: Doc, vars: Vars): ResolvedWhenMatched {
  if (spec.kind !== "expression") return spec;
  const mode = spec.evaluate(doc, vars);
  if (typeof mode !== "string" || !MATCHED_MODES.has(mode)) {
    throw new MergeModeError(
      `Unsupported whenMatched mode: ${typeof mode === "string" ? mode : JSON.stringify(mode)}`,
    );
  }
  return { kind: "mode", mode: mode as MergeMode };
}

export function resolveWhenNotMatched(spec: MergeWhenNotMatched, doc: Doc, vars: Vars): "insert" | "discard" {
  if (spec.kind === "mode") return spec.mode;
  const mode = spec.evaluate(doc, vars);
  if (mode !== "insert" && mode !== "discard") {
    throw new MergeModeError(
      `Unsupported whenNotMatched mode: ${typeof mode === "string" ? mode : JSON.stringify(mode)}`,
    );
  }
  return mode;
}

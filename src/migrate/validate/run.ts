/**
 * `sp validate`: compares two copies of the same data by key. Keys come from both sides (all, or a sample
 * of each), the counterpart of every key is fetched from the other side, and each pair is compared field
 * by field. Accuracy is the share of keys whose documents agree; the verdict follows from it.
 */
import type { Doc } from "../../mql/index.ts";
import {
  compareDocuments,
  redactDiscrepancy,
  type CompareOptions,
  type Discrepancy,
  type DiscrepancyKind,
} from "./compare.ts";
import { isDiscrepancyStore, keyText, type SideReader } from "./sides.ts";

export type Verdict = "READY_FOR_PRODUCTION" | "MINOR_ISSUES" | "MAJOR_ISSUES";

export interface ValidationOptions extends CompareOptions {
  readonly sample?: number;
  readonly since?: Date;
  readonly timeField?: string;
  readonly redact: readonly string[];
  /** Key field on each side (`_id` for MongoDB by default). */
  readonly keyFields: readonly string[];
  readonly now?: () => Date;
}

export interface ValidationReport {
  readonly runId: string;
  readonly at: Date;
  readonly left: string;
  readonly right: string;
  readonly compared: number;
  readonly matching: number;
  /** Percent of compared keys whose documents agree, two decimals. */
  readonly accuracy: number;
  readonly counts: Readonly<Record<DiscrepancyKind, number>>;
  readonly topFields: readonly { readonly field: string; readonly count: number }[];
  readonly verdict: Verdict;
  /** Where the discrepancies were written. */
  readonly storedIn: string | undefined;
  /** The first discrepancies, redacted. */
  readonly examples: readonly Discrepancy[];
}

export function verdictFor(accuracy: number): Verdict {
  if (accuracy >= 99.9) return "READY_FOR_PRODUCTION";
  if (accuracy >= 95) return "MINOR_ISSUES";
  return "MAJOR_ISSUES";
}

export async function runValidation(
  left: SideReader,
  right: SideReader,
  options: ValidationOptions,
): Promise<ValidationReport> {
  const at = options.now?.() ?? new Date();
  const scope = { sample: options.sample, since: options.since, timeField: options.timeField };
  const keys = new Map<string, unknown>();
  for (const key of [...(await left.keys(scope)), ...(await right.keys(scope))]) keys.set(keyText(key), key);
  const all = [...keys.values()];
  const [leftDocs, rightDocs] = await Promise.all([left.fetch(all), right.fetch(all)]);
  const discrepancies: Discrepancy[] = [];
  let matching = 0;
  for (const [text, key] of keys) {
    const l = leftDocs.get(text);
    const r = rightDocs.get(text);
    let found: Discrepancy[];
    if (!l && !r) continue; // deleted on both sides between listing and fetching
    if (!l) found = [{ key, kind: "MISSING_IN_LEFT" }];
    else if (!r) found = [{ key, kind: "MISSING_IN_RIGHT" }];
    else found = compareDocuments(key, l, r, options.keyFields, options);
    if (found.length === 0) matching++;
    for (const d of found) discrepancies.push(redactDiscrepancy(d, options.redact));
  }
  const compared = keys.size;
  const accuracy = compared === 0 ? 100 : Math.floor((matching / compared) * 10_000) / 100;
  const counts: Record<DiscrepancyKind, number> = {
    MISSING_IN_LEFT: 0,
    MISSING_IN_RIGHT: 0,
    TYPE_MISMATCH: 0,
    VALUE_MISMATCH: 0,
  };
  const byField = new Map<string, number>();
  for (const d of discrepancies) {
    counts[d.kind]++;
    if (d.field !== undefined) byField.set(d.field, (byField.get(d.field) ?? 0) + 1);
  }
  const runId = `validate-${at.toISOString()}`;
  let storedIn: string | undefined;
  const store = isDiscrepancyStore(right) ? right : isDiscrepancyStore(left) ? left : undefined;
  if (store && discrepancies.length > 0) {
    const records: Doc[] = discrepancies.map((d) => ({
      runId,
      at,
      leftSide: left.label,
      rightSide: right.label,
      key: d.key,
      kind: d.kind,
      ...(d.field === undefined ? {} : { field: d.field }),
      ...(d.left === undefined ? {} : { left: d.left }),
      ...(d.right === undefined ? {} : { right: d.right }),
    }));
    storedIn = await store.writeDiscrepancies(records);
  }
  return {
    runId,
    at,
    left: left.label,
    right: right.label,
    compared,
    matching,
    accuracy,
    counts,
    topFields: [...byField]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([field, count]) => ({ field, count })),
    verdict: verdictFor(accuracy),
    storedIn,
    examples: discrepancies.slice(0, 10),
  };
}

/** One problem in a processor definition: where (JSON path) and what (ASP's message where it has one). */
export interface PlanIssue {
  /** JSON path of the offending part, e.g. `pipeline[2].$tumblingWindow.interval.size`; "" for the definition itself. */
  readonly path: string;
  readonly message: string;
}

/**
 * A processor definition that cannot be planned (ASP: `StreamProcessorInvalidOptions`). Carries every problem
 * found in one pass so `sp lint` can report them all; `path`/`detail` are the first one's.
 */
export class PlanError extends Error {
  override readonly name = "PlanError";
  /** ASP's error code name for planning errors. */
  readonly code = "StreamProcessorInvalidOptions";
  readonly path: string;
  readonly detail: string;
  readonly errors: readonly PlanIssue[];

  constructor(errors: readonly PlanIssue[]) {
    const first = errors[0] ?? { path: "", message: "invalid processor definition" };
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
    super(`${formatIssue(first)}${more}`);
    this.path = first.path;
    this.detail = first.message;
    this.errors = errors.length > 0 ? errors : [first];
  }
}

export function formatIssue(issue: PlanIssue): string {
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}

/** Collects issues while a definition is planned. */
export class IssueList {
  readonly items: PlanIssue[] = [];

  add(path: string, message: string): void {
    this.items.push({ path, message });
  }

  /** Replaces every issue at `path` (e.g. a compiler's generic complaint) with this one. */
  replaceAt(path: string, message: string): void {
    const kept = this.items.filter((issue) => issue.path !== path);
    this.items.length = 0;
    this.items.push(...kept, { path, message });
  }

  get size(): number {
    return this.items.length;
  }

  throwIfAny(): void {
    if (this.items.length > 0) throw new PlanError(this.items);
  }
}

/** The name of a JSON value's type as problems report it (`got`): its JSON type, "missing" or "null". */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "missing";
  if (Array.isArray(value)) return "array";
  if (value instanceof Date) return "date";
  return typeof value === "object" ? "object" : typeof value;
}

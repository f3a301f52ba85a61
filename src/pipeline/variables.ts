import { isPlainObject } from "../mql/bson-types.ts";
import type { IssueList } from "./errors.ts";

/**
 * System variables ASP rejects (docs/asp-semantics.md §0). `$$NOW` is deliberately accepted (see
 * docs/asp-corpus-decisions.md): real processors use it and ASP's own examples run with it.
 */
const UNSUPPORTED = ["CLUSTER_TIME", "USER_ROLES", "SEARCH_META"];
const PATTERN = new RegExp(`^\\$\\$(${UNSUPPORTED.join("|")})(\\.|$)`);

/**
 * Reports every use of an unsupported system variable in the pipeline's stage specs (not in inline documents),
 * replacing the expression compiler's generic "undefined variable" error at the same path.
 */
export function checkUnsupportedVariables(pipeline: readonly unknown[], issues: IssueList): void {
  pipeline.forEach((stage, i) => visit(stage, `pipeline[${i}]`, issues));
}

function visit(value: unknown, path: string, issues: IssueList): void {
  if (typeof value === "string") {
    const match = PATTERN.exec(value);
    if (match) issues.replaceAt(path, `$$${match[1]} is not supported in Atlas Stream Processing`);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => visit(item, `${path}[${i}]`, issues));
  } else if (isPlainObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      if (key === "documents" && path.endsWith(".$source")) continue;
      visit(child, `${path}.${key}`, issues);
    }
  }
}

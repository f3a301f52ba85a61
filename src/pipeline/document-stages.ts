/**
 * The MQL document-stage compilers the planner uses, in one place so their module layout is known once.
 * Each takes `(spec, {path})` and returns a per-document function.
 */
export { compileProject } from "../mql/stages/project.ts";
export { compileAddFields } from "../mql/stages/add-fields.ts";
export { compileUnset } from "../mql/stages/unset.ts";
export { compileReplaceRoot, compileReplaceWith } from "../mql/stages/replace-root.ts";
export { compileUnwind } from "../mql/stages/unwind.ts";
export { compileRedact } from "../mql/stages/redact.ts";
export { compileSort } from "../mql/stages/sort.ts";
export { compileQuery } from "../mql/query/compile.ts";
export { compileGroup } from "../mql/accumulators/group.ts";

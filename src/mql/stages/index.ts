/** Per-document pipeline stages, each compiled once from its spec into a plain function. */
export { compileAddFields } from "./add-fields.ts";
export { compileProject, type DocTransform } from "./project.ts";
export { compileRedact, type DocRedactor } from "./redact.ts";
export { compileReplaceRoot, compileReplaceWith } from "./replace-root.ts";
export { compileSort, validateLimit, type DocComparator } from "./sort.ts";
export { compileUnset } from "./unset.ts";
export { compileUnwind, type DocExpander } from "./unwind.ts";

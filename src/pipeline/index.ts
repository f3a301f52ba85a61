/** Public API of the planner: processor definition → validated, compiled ProcessorPlan. */
export { planProcessor, NEEDS_SINK_MESSAGE, type PlanOptions } from "./planner.ts";
export { PlanError, formatIssue, type PlanIssue } from "./errors.ts";
export { BUILTIN_CONNECTIONS, MapConnectionCatalog, catalogOf } from "./connections.ts";
export type * from "./plan.ts";
export type * from "./connector-specs.ts";

import type { OperatorTable } from "../context.ts";

export const conditionalOperators: OperatorTable = {};

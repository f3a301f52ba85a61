import type { OperatorTable } from "../context.ts";

export const comparisonOperators: OperatorTable = {};

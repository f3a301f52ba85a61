import type { OperatorTable } from "../context.ts";

export const booleanOperators: OperatorTable = {};

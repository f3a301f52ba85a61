import type { OperatorTable } from "../context.ts";

export const stringOperators: OperatorTable = {};

import type { OperatorTable } from "../context.ts";

export const variableOperators: OperatorTable = {};

import type { OperatorTable } from "../context.ts";

export const setOperators: OperatorTable = {};
